#!/usr/bin/env bun
/**
 * weft-file-portal: gives app sessions the user folders appd granted them, over org.weft.FilePortal1.
 *
 *   weft-file-portal            (no arguments; the bus is WEFT_BUS_ADDRESS, else the session bus)
 *
 * start() acquires, in order: the bus; the watch on bus name owners (who is appd, who is each session's
 * runtime); the grant table; the interface at /org/weft/FilePortal1; the name org.weft.FilePortal1. Each
 * failure has its own message; cleanup runs in reverse: the name is released first, so no call arrives
 * after the grants' directories are closed. Runs until SIGTERM/SIGINT or until the bus goes away.
 *
 * Exit codes: 0 stopped by a signal; 2 usage; 3 could not start (no bus, name taken); 1 the bus went away.
 */

import { connectBus } from "../common/bus/index.ts";
import { runService, serveUntilStopped, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import { GrantTable } from "./grants.ts";
import { exportFilePortal } from "./interface.ts";
import { NameOwners } from "./owners.ts";
import { FilePortal } from "./portal.ts";
import { FilePortal as FilePortalEndpoint } from "../../protocol/dbus/index.ts";

/** Starts the portal and serves until it is stopped; resolves with the exit code. */
async function run(ctx: ServiceContext<undefined>): Promise<number> {
  const { log, cleanup } = ctx;
  const bus = await startStep("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());

  const owners = await startStep("cannot watch bus name owners", () => NameOwners.watch(bus));
  cleanup.defer(() => owners.close());

  const grants = new GrantTable();
  cleanup.defer(() => grants.close());
  const portal = new FilePortal(grants, owners, log);

  const service = await startStep("cannot export /org/weft/FilePortal1", () => exportFilePortal(bus, portal));
  cleanup.defer(() => service.unexport());

  await startStep(`cannot own ${FilePortalEndpoint.busName} (is another weft-file-portal running?)`, () => bus.requestName(FilePortalEndpoint.busName));
  cleanup.defer(() => bus.releaseName(FilePortalEndpoint.busName).catch(() => {}));
  log.info("ready", { name: FilePortalEndpoint.busName, maxFileBytes: portal.limits.maxFileBytes });

  return serveUntilStopped(ctx, bus);
}

export function main(argv: string[]): Promise<number> {
  return runService({ program: "weft-file-portal", service: "file-portal", run }, argv);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
