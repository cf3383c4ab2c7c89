/**
 * The commands the README and the docs show run as written in a fresh shell: no Bun on PATH, nothing but the
 * checkout (after scripts/setup.sh). node_modules/.bin/weft and weft-pack start the checkout's own Bun.
 */

import { expect, test } from "bun:test";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const FRESH_SHELL = { HOME: process.env.HOME ?? "/root", PATH: "/usr/bin:/bin" };

test.each([
  ["node_modules/.bin/weft", "--help", "usage: weft session"],
  ["node_modules/.bin/weft-pack", "--help", "usage: weft-pack <command>"],
])("%s %s works with no Bun on PATH, from the checkout and from elsewhere", (command, args, usage) => {
  for (const cwd of [REPO, "/"]) {
    const run = Bun.spawnSync(["sh", "-c", `${join(REPO, command)} ${args}`], { cwd, env: FRESH_SHELL, stdout: "pipe", stderr: "pipe" });
    expect({ cwd, stderr: run.stderr.toString(), code: run.exitCode }).toEqual({ cwd, stderr: "", code: 0 });
    expect(run.stdout.toString()).toContain(usage);
  }
});
