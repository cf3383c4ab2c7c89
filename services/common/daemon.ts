/**
 * The frame of a WEFT daemon that takes no arguments (the file portal, the compositor): start in one checked
 * sequence, each step with its own message; run until SIGTERM/SIGINT or until the bus goes away; clean up
 * in reverse (an AsyncDisposableStack the start-up fills).
 *
 * Exit codes: 0 stopped by a signal; 1 the bus went away; 2 usage (arguments given); 3 could not start;
 * 70 an unexpected failure (its stack goes to the log).
 */

import type { BusConnection } from "./bus/index.ts";
import { createLogger, type Logger } from "./log.ts";

/** A start-up step failed; the message says which and why. */
export class StartError extends Error {}

/** Runs one start-up step; its failure becomes a StartError prefixed with `what`. */
export async function startStep<T>(what: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StartError(`${what}: ${(error as Error).message}`);
  }
}

/**
 * Resolves when SIGTERM/SIGINT arrives ("signal", after `onSignal`) or the bus connection is lost ("bus-lost").
 * The signal handlers are removed when `cleanup` unwinds.
 */
export function untilStopped(
  bus: BusConnection,
  log: Logger,
  cleanup: AsyncDisposableStack,
  onSignal: () => void = () => {},
): Promise<"signal" | "bus-lost"> {
  const stopped = Promise.withResolvers<"signal">();
  const handle = (signal: string) => {
    log.info("stopping", { signal });
    onSignal();
    stopped.resolve("signal");
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
  cleanup.defer(() => {
    process.off("SIGTERM", handle);
    process.off("SIGINT", handle);
  });
  return Promise.race([stopped.promise, bus.disconnected.then(() => "bus-lost" as const)]);
}

export interface DaemonSpec {
  /** The program's name (`weft-file-portal`): usage text. */
  program: string;
  /** The logger's service name (`file-portal`). */
  service: string;
  /** Starts the daemon, registering cleanup on the stack, and resolves with why it stopped (untilStopped). */
  run(log: Logger, cleanup: AsyncDisposableStack): Promise<"signal" | "bus-lost">;
}

/** Runs a daemon and returns its exit code; never throws. */
export async function runDaemon(spec: DaemonSpec, argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`usage: ${spec.program} (no arguments; the bus comes from WEFT_BUS_ADDRESS or the session)\n`);
    return 2;
  }
  const log = createLogger(spec.service);
  await using cleanup = new AsyncDisposableStack();
  try {
    const reason = await spec.run(log, cleanup);
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
    log.error(`${spec.service} failed`, { error: (error as Error).stack ?? String(error) });
    return 70;
  }
}
