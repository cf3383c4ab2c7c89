/**
 * The frame every WEFT process that serves starts in (compositor, shell, appd, file portal, runtime, app-shell):
 *
 *   argv ──parse──► usage error: exit 2, with the usage
 *     │ SIGTERM/SIGINT handlers go in now, before any work, and come out when the cleanup stack unwinds:
 *     │ a stop that arrives during start-up is never lost, and never kills the process half-started
 *     ▼
 *   run(ctx) ── start steps (startStep: each failure names its step) ─► serve ─► resolve with the exit code
 *     │ StartError: exit 3 ("cannot start", naming the step); anything else: exit 70, its stack in the log
 *     ▼
 *   the cleanup stack unwinds in reverse, whatever happened
 *
 * Exit codes, for every daemon: 0 stopped (a signal); 1 the bus went away; 2 usage; 3 could not start; 70 an
 * unexpected failure. The session's children add their own above these (protocol/session-child.ts).
 */

import { UsageError } from "../../../protocol/usage.ts";
import type { BusConnection } from "../bus/index.ts";
import { createLogger, type Logger } from "./log.ts";

export const EXIT = { stopped: 0, busLost: 1, usage: 2, startFailed: 3, internal: 70 } as const;

/** A start-up step failed; the message says which and why. */
export class StartError extends Error {}

export { UsageError };

/** Runs one start-up step; its failure becomes a StartError prefixed with `what`. */
export async function startStep<T>(what: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StartError) throw error;
    throw new StartError(`${what}: ${(error as Error).message}`);
  }
}

export interface ServiceContext<Args> {
  args: Args;
  log: Logger;
  /** Filled during start-up; unwinds in reverse when run() is over, however it ended. */
  cleanup: AsyncDisposableStack;
  /** Resolves with the signal's name at the first SIGTERM or SIGINT (even one that came during start-up). */
  stopRequested: Promise<string>;
}

export interface ServiceSpec<Args> {
  /** The program's name (`weft-appd`): messages. */
  program: string;
  /** The logger's service name (`appd`). */
  service: string;
  /** Reads the command line; throws UsageError (protocol/usage.ts) for one it does not take. Default: none. */
  parseArgs?: (argv: string[]) => Args;
  /** Fields every log line carries (the app and session of a session's child). */
  logFields?: (args: Args) => Record<string, string>;
  /** Starts and serves; resolves with the exit code. Start-up steps throw StartError (startStep). */
  run(ctx: ServiceContext<Args>): Promise<number>;
}

function noArguments(program: string) {
  return (argv: string[]): undefined => {
    if (argv.length > 0) throw new UsageError(`usage: ${program} (no arguments; the bus comes from WEFT_BUS_ADDRESS or the session)`);
    return undefined;
  };
}

/** Runs a service and returns its exit code; never throws. */
export async function runService<Args = undefined>(spec: ServiceSpec<Args>, argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = (spec.parseArgs ?? (noArguments(spec.program) as unknown as (argv: string[]) => Args))(argv);
  } catch (error) {
    const usage = error instanceof UsageError;
    const text = usage ? (error as Error).message : String(error);
    process.stderr.write(text.startsWith("usage:") ? `${text}\n` : `${spec.program}: ${text}\n`);
    return usage ? EXIT.usage : EXIT.internal;
  }
  const log = createLogger(spec.service).with(spec.logFields?.(args) ?? {});
  await using cleanup = new AsyncDisposableStack();
  const stop = Promise.withResolvers<string>();
  const onSignal = (signal: string) => stop.resolve(signal);
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  cleanup.defer(() => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  });
  try {
    return await spec.run({ args, log, cleanup, stopRequested: stop.promise });
  } catch (error) {
    if (error instanceof StartError) {
      log.error("cannot start", { error: error.message });
      return EXIT.startFailed;
    }
    log.error(`${spec.service} failed`, { error: (error as Error).stack ?? String(error) });
    return EXIT.internal;
  }
}

/**
 * For a daemon that serves until told to stop: resolves with EXIT.stopped at SIGTERM/SIGINT (after `onStop`), or
 * EXIT.busLost when the bus connection goes (logged).
 */
export async function serveUntilStopped(ctx: ServiceContext<unknown>, bus: BusConnection, onStop: () => void = () => {}): Promise<number> {
  const why = await Promise.race([ctx.stopRequested, bus.disconnected.then(() => undefined)]);
  if (why === undefined) {
    ctx.log.error("the bus connection was lost");
    return EXIT.busLost;
  }
  ctx.log.info("stopping", { signal: why });
  onStop();
  return EXIT.stopped;
}
