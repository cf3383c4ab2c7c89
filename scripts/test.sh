#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test once with `bun test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node_modules/.bin/bun test "$@"
