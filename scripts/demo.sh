#!/usr/bin/env bash
# The README's main-job command: the WEFT desktop session, scripted (`weft session --demo`), headless on a fresh
# store. Installs what it needs first (scripts/setup.sh: Debian packages, Bun, node modules, native builds).
# Screenshots of every step and summary.json go to out/session-demo-<time>/ (or --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node_modules/.bin/bun services/desktop-session/main.ts session --demo "$@"
