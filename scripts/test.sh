#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test once: the host's with `bun test`,
# then the VM's smoke test (vm/test: WEFT OS booted under QEMU with a real systemd; docs/vm.md).
# With arguments (`scripts/test.sh services/pack`), only those host tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
node_modules/.bin/tsc --noEmit -p .
# Integration tests start real dbus-daemon, busctl, openssl, mkfs.erofs and veritysetup processes: give each
# test 60 s instead of bun's 5 s so a loaded CI machine does not fail them (bunfig.toml has no such setting).
if (($#)); then
  exec node_modules/.bin/bun test --timeout 60000 "$@"
fi
node_modules/.bin/bun test --timeout 60000
exec node_modules/.bin/bun vm/test.ts
