#!/usr/bin/env bash
# Installs the WEFT systemd user units (units/) with this checkout's path and Bun filled in.
#   scripts/install-units.sh [--dest DIR] [--enable]
#     --dest DIR   where to put them (default: ${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user)
#     --enable     also start weft-session.target with the user's manager from now on (what
#                  `systemctl --user enable weft-session.target` does: a link in default.target.wants/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
enable=false
usage="usage: scripts/install-units.sh [--dest DIR] [--enable]"
while [[ $# -gt 0 ]]; do
  case $1 in
    --dest) [[ $# -ge 2 ]] || { echo "install-units: --dest needs a directory ($usage)" >&2; exit 2; }; dest=$2; shift 2 ;;
    --enable) enable=true; shift ;;
    *) echo "install-units: unknown argument $1 ($usage)" >&2; exit 2 ;;
  esac
done
bun=$root/node_modules/.bin/bun
[[ -x $bun ]] || { echo "install-units: $bun is missing: run scripts/setup.sh first" >&2; exit 1; }
bun=$(readlink -f "$bun")
# Paths with characters sed would take as syntax are refused rather than half-substituted.
[[ $root != *'|'* && $bun != *'|'* ]] || { echo "install-units: paths containing | are not supported" >&2; exit 1; }
mkdir -p "$dest"
for unit in "$root"/units/*.service "$root"/units/*.target; do
  sed -e "s|@ROOT@|$root|g" -e "s|@BUN@|$bun|g" "$unit" >"$dest/$(basename "$unit").tmp"
  mv "$dest/$(basename "$unit").tmp" "$dest/$(basename "$unit")"
done
echo "installed $(ls "$root"/units/*.service "$root"/units/*.target | wc -l) units into $dest"
if $enable; then
  mkdir -p "$dest/default.target.wants"
  ln -sfn ../weft-session.target "$dest/default.target.wants/weft-session.target"
  echo "enabled weft-session.target: the user manager starts it at login (now: systemctl --user start weft-session.target)"
fi
# A running user manager reads the new units at once; without one (a first install, a boot) there is nothing to do.
if [[ -n ${XDG_RUNTIME_DIR:-} && -S $XDG_RUNTIME_DIR/systemd/private ]]; then
  systemctl --user daemon-reload || echo "install-units: systemctl --user daemon-reload failed: run it yourself" >&2
fi
