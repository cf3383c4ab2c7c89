#!/usr/bin/env bun
/**
 * weft: the desktop session.
 *
 *   weft session [--backend auto|headless|x11|wayland] [--user-bus] [--demo [--out DIR]]
 *   weft demo [--out DIR] [--patience N]
 *
 * `weft session` brings the mesh up in order on a private bus (or, with --user-bus, the one in
 * DBUS_SESSION_BUS_ADDRESS): compositor (headless unless a display exists, then nested), file portal, appd,
 * shell; and stops it all cleanly on Ctrl-C (SIGINT) or SIGTERM. `--demo` runs the scripted demo on a fresh store
 * instead of waiting (demo.ts) and writes its screenshots and summary.json under --out. `weft demo` runs the same
 * scripted demo on the desktop already running on the user's bus (systemd's units; the VM), every deadline times
 * --patience on a slow machine.
 *
 * Exit codes: 0 stopped by a signal (or the demo passed); 1 a service failed or the demo failed; 2 usage.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../common/daemon/log.ts";
import { chooseBackend, Mesh, sessionServices } from "./mesh.ts";

const USAGE = `usage: weft session [--backend auto|headless|x11|wayland] [--user-bus] [--demo [--out DIR]]
       weft demo [--out DIR] [--patience N]

  weft session brings up the WEFT desktop (compositor, file portal, appd, shell) on a private bus and keeps it up
  until Ctrl-C. --demo runs the scripted demo session on a fresh store and writes screenshots and summary.json.
  weft demo runs the scripted demo on the desktop already running on the user's bus; it needs the compositor's
  test input, WEFT_SHELL_INSPECT=1 and WEFT_APP_SHELL_INSPECT=1, and the demo apps installed. --patience N
  (1 to 20) multiplies every deadline, for a slow machine.`;

export interface SessionArgs {
  backend: string;
  userBus: boolean;
  demo: boolean;
  out?: string;
}

export interface DemoArgs {
  out?: string;
  patience: number;
}

/** Parses `demo …`; throws an Error whose message is the usage problem. */
export function parseDemoArgs(argv: string[]): DemoArgs {
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
    options: { out: { type: "string" }, patience: { type: "string", default: "1" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 64))}`);
  const patience = values.patience!;
  if (!/^[0-9]{1,2}$/.test(patience) || Number(patience) < 1 || Number(patience) > 20) {
    throw new Error(`--patience must be a whole number from 1 to 20, not ${JSON.stringify(patience.slice(0, 32))}`);
  }
  if (values.out === "") throw new Error("--out needs a directory");
  return { out: values.out, patience: Number(patience) };
}

/** Parses argv; throws an Error whose message is the usage problem. */
export function parseSessionArgs(argv: string[]): SessionArgs {
  const [command, ...rest] = argv;
  if (command !== "session") throw new Error(command === undefined ? "no command given" : `unknown command ${JSON.stringify(command.slice(0, 64))}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      backend: { type: "string", default: "auto" },
      "user-bus": { type: "boolean", default: false },
      demo: { type: "boolean", default: false },
      out: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 64))}`);
  chooseBackend({}, values.backend); // validates the name
  if (values.out !== undefined && !values.demo) throw new Error("--out is for --demo");
  return { backend: values.backend!, userBus: values["user-bus"]!, demo: values.demo!, out: values.out };
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h" || ((argv[0] === "session" || argv[0] === "demo") && (argv.includes("--help") || argv.includes("-h")))) {
    console.log(USAGE);
    return 0;
  }
  if (argv[0] === "demo") {
    let demoArgs: DemoArgs;
    try {
      demoArgs = parseDemoArgs(argv);
    } catch (error) {
      console.error(`weft: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    const { runDemoOnDesktop } = await import("./demo.ts");
    return runDemoOnDesktop(demoArgs);
  }
  let args: SessionArgs;
  try {
    args = parseSessionArgs(argv);
  } catch (error) {
    console.error(`weft: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.userBus && process.env.DBUS_SESSION_BUS_ADDRESS === undefined) {
    console.error("weft: --user-bus needs DBUS_SESSION_BUS_ADDRESS");
    return 2;
  }
  if (args.demo) {
    const { runDemo } = await import("./demo.ts");
    return runDemo(args);
  }

  const log = createLogger("session");
  const backend = chooseBackend(process.env, args.backend);
  // Services need a runtime directory of their own (sockets, appd's last-session file, Chromium profiles).
  const ownRuntimeDir = process.env.XDG_RUNTIME_DIR === undefined ? mkdtempSync(join(tmpdir(), "weft-session-")) : undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  if (ownRuntimeDir !== undefined) env.XDG_RUNTIME_DIR = ownRuntimeDir;

  let failed: string | undefined;
  let wake: () => void = () => {};
  const stopRequested = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    wake = () => resolve("a service failed");
  });

  let mesh: Mesh;
  try {
    mesh = await Mesh.start({
      services: sessionServices(backend),
      env,
      log,
      busAddress: args.userBus ? process.env.DBUS_SESSION_BUS_ADDRESS : undefined,
      onExit: (service, code, signal) => {
        failed = `${service} exited (${code ?? signal})`;
        log.error("a service exited: stopping the session", { service, code: code ?? undefined, signal: signal ?? undefined });
        wake();
      },
    });
  } catch (error) {
    log.error("the session did not start", { error: (error as Error).message });
    if (ownRuntimeDir !== undefined) rmSync(ownRuntimeDir, { recursive: true, force: true });
    return 1;
  }
  log.info("session up: Ctrl-C stops it", { bus: mesh.busAddress, backend, services: mesh.running.map((s) => s.spec.name).join(",") });
  const reason = await stopRequested;
  log.info("stopping the session", { reason });
  const outcomes = await mesh.stop();
  for (const outcome of outcomes) log.info("service stopped", { service: outcome.service, code: outcome.code ?? undefined, signal: outcome.signal ?? undefined });
  if (ownRuntimeDir !== undefined) rmSync(ownRuntimeDir, { recursive: true, force: true });
  return failed === undefined ? 0 : 1;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
