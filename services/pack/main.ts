#!/usr/bin/env bun
/** `weft-pack`: the package manager's entry point. See `weft-pack --help` and docs/weft-pack.md. */
import { runCli } from "./cli.ts";
import { commands } from "./commands.ts";

process.exitCode = await runCli(process.argv.slice(2), commands, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
