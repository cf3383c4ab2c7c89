#!/usr/bin/env bun
/**
 * weft-appd: the session supervisor, `org.weft.AppD1` (docs/appd.md).
 *
 * start() acquires, in order: the bus; the Runtime1 Exited subscription; the manager object; the bus name
 * org.weft.AppD1 (only now can clients reach it); READY=1 to systemd; the sessions of the last clean shutdown.
 * stop() (SIGTERM, SIGINT) releases in reverse: the name (no new launches), every session (their app ids are
 * written to last-session.json first), the objects, the bus. If appd dies instead, its runtimes exit on their
 * own: appd's connection is their supervisor, and they end when it leaves the bus.
 *
 * Exit codes (common/daemon/frame.ts): 0 stopped by a signal; 1 lost the bus; 2 usage; 3 could not start.
 */

import { connectBus } from "../common/bus/index.ts";
import { runService, serveUntilStopped, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import type { Logger } from "../common/daemon/log.ts";
import { runtimeDir } from "../common/os/paths.ts";
import { exportAppd, SessionObjects } from "./interface.ts";
import { takeLastSession, writeLastSession } from "./last-session.ts";
import { launchLimits } from "./limits.ts";
import { sdNotify } from "../common/daemon/sd-notify.ts";
import { Supervisor } from "./supervisor.ts";
import { AppD } from "../../protocol/dbus/index.ts";

/** `$XDG_RUNTIME_DIR/weft`, or undefined (with a warning) when there is none: restart persistence is off. */
function weftRuntimeDir(log: Logger): string | undefined {
  try {
    return runtimeDir(process.env);
  } catch (error) {
    log.warn("running apps will not be kept across a restart", { error: (error as Error).message });
    return undefined;
  }
}

function notify(state: string, log: Logger): void {
  try {
    sdNotify(state);
  } catch (error) {
    log.warn("sd_notify failed", { state, error: (error as Error).message });
  }
}

async function relaunch(supervisor: Supervisor, appIds: string[], log: Logger): Promise<void> {
  for (const appId of appIds) {
    try {
      const session = await supervisor.launch(appId, { headless: false }, "appd (last session)");
      log.info("relaunched from the last session", { app: appId, session: String(session.id) });
    } catch (error) {
      log.warn("could not relaunch an app of the last session", { app: appId, error: (error as Error).message });
    }
  }
}

async function run(ctx: ServiceContext<undefined>): Promise<number> {
  const { log, cleanup } = ctx;
  const stateDir = weftRuntimeDir(log);
  const bus = await startStep("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());
  const limits = await startStep("the launch limits in the environment are wrong", () => launchLimits(process.env));
  const objects = new SessionObjects(bus);
  const supervisor = new Supervisor({ bus, env: process.env, log, observer: objects, limits });
  await startStep("cannot follow the sessions' runtimes", () => supervisor.start());
  const manager = await startStep(`cannot export ${AppD.path}`, () => exportAppd(bus, supervisor, objects));
  cleanup.defer(() => {
    objects.unexportAll();
    manager.unexport();
  });
  await startStep(`cannot own ${AppD.busName} (is another weft-appd running?)`, () => bus.requestName(AppD.busName));

  // Runs before the objects and the bus go (the stack unwinds in reverse): sessions end while appd can still
  // tell their runtimes to stop and emit the last state changes.
  cleanup.defer(async () => {
    await bus.releaseName(AppD.busName).catch(() => undefined);
    const running = await supervisor.shutdown("appd is stopping");
    if (stateDir !== undefined && running.length > 0) {
      try {
        writeLastSession(stateDir, running);
        log.info("kept the running apps for the next start", { apps: running.join(" ") });
      } catch (error) {
        log.warn("could not keep the running apps for the next start", { error: (error as Error).message });
      }
    }
  });

  log.info("serving", { name: AppD.busName, unique: bus.uniqueName });
  notify("READY=1", log);
  if (stateDir !== undefined) void relaunch(supervisor, takeLastSession(stateDir, log), log);

  return serveUntilStopped(ctx, bus, () => notify("STOPPING=1", log));
}

export function main(argv: string[]): Promise<number> {
  return runService({ program: "weft-appd", service: "appd", run }, argv);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
