#!/usr/bin/env bash
# The README's main-job command. Until the desktop session exists (issue 6), the main job is a walk through
# the package manager on a fresh, private store: build, check, sign, verify, install, bundle, image.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node_modules/.bin/bun scripts/demo.ts "$@"
