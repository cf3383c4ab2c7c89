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
import { createLogger, type Logger } from "../common/log.ts";
import { GrantTable } from "./grants.ts";
import { exportFilePortal, FILE_PORTAL_NAME } from "./interface.ts";
import { NameOwners } from "./owners.ts";
import { FilePortal } from "./portal.ts";

class StartError extends Error {}

async function step<T>(what: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StartError(`${what}: ${(error as Error).message}`);
  }
}

/** Starts the portal; resolves with the reason it stopped. */
async function run(log: Logger, cleanup: AsyncDisposableStack): Promise<"signal" | "bus-lost"> {
  const bus = await step("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());

  const owners = await step("cannot watch bus name owners", () => NameOwners.watch(bus));
  cleanup.defer(() => owners.close());

  const grants = new GrantTable();
  cleanup.defer(() => grants.close());
  const portal = new FilePortal(grants, owners, log);

  const service = await step("cannot export /org/weft/FilePortal1", () => exportFilePortal(bus, portal));
  cleanup.defer(() => service.unexport());

  await step(`cannot own ${FILE_PORTAL_NAME} (is another weft-file-portal running?)`, () => bus.requestName(FILE_PORTAL_NAME));
  cleanup.defer(() => bus.releaseName(FILE_PORTAL_NAME).catch(() => {}));
  log.info("ready", { name: FILE_PORTAL_NAME, maxFileBytes: portal.limits.maxFileBytes });

  const stopped = Promise.withResolvers<"signal">();
  const onSignal = (signal: string) => {
    log.info("stopping", { signal });
    stopped.resolve("signal");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  cleanup.defer(() => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  });
  return Promise.race([stopped.promise, bus.disconnected.then(() => "bus-lost" as const)]);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write("usage: weft-file-portal (no arguments; the bus comes from WEFT_BUS_ADDRESS or the session)\n");
    return 2;
  }
  const log = createLogger("file-portal");
  await using cleanup = new AsyncDisposableStack();
  try {
    const reason = await run(log, cleanup);
    if (reason === "bus-lost") {
      log.error("the bus connection was lost");
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof StartError) {
      log.error("cannot start", { error: error.message });
      return 3;
    }
    log.error("file portal failed", { error: (error as Error).stack ?? String(error) });
    return 70;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
