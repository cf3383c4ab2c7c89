#!/usr/bin/env bash
# Installs the WEFT systemd user units (units/) with this checkout's path and Bun filled in.
#   scripts/install-units.sh [--dest DIR]     (default: ${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
while [[ $# -gt 0 ]]; do
  case $1 in
    --dest) [[ $# -ge 2 ]] || { echo "install-units: --dest needs a directory" >&2; exit 2; }; dest=$2; shift 2 ;;
    *) echo "install-units: unknown argument $1 (usage: scripts/install-units.sh [--dest DIR])" >&2; exit 2 ;;
  esac
done
bun=$root/node_modules/.bin/bun
[[ -x $bun ]] || { echo "install-units: $bun is missing: run scripts/setup.sh first" >&2; exit 1; }
bun=$(readlink -f "$bun")
mkdir -p "$dest"
for unit in "$root"/units/*.service "$root"/units/*.target; do
  # Paths with characters sed would take as syntax are refused rather than half-substituted.
  [[ $root != *'|'* && $bun != *'|'* ]] || { echo "install-units: paths containing | are not supported" >&2; exit 1; }
  sed -e "s|@ROOT@|$root|g" -e "s|@BUN@|$bun|g" "$unit" >"$dest/$(basename "$unit").tmp"
  mv "$dest/$(basename "$unit").tmp" "$dest/$(basename "$unit")"
done
echo "installed $(ls "$root"/units/*.service "$root"/units/*.target | wc -l) units into $dest"
