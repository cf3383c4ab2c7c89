/**
 * `weft-runtime <app_id> <session_id> --supervisor <unique bus name> [--channel-fd <n>]`: parsed and validated
 * once, here. `--channel-fd` names the inherited descriptor of the session channel (common/session-channel.ts)
 * when the session's UI end is a weft-app-shell; without it the UI end is a bus peer the supervisor binds.
 * Everything else the runtime needs (module, capabilities, data directory) comes from the verified package,
 * never from the command line, so a caller cannot widen what an app may do.
 */

import { parseArgs } from "node:util";
import { appIdProblem } from "../common/app-id.ts";
import { channelFdProblem } from "../common/session-channel.ts";

export interface RuntimeArgs {
  appId: string;
  sessionId: bigint;
  /** The unique bus name of the peer that started us: only it may bind the UI end or stop the session. */
  supervisor: string;
  /** The inherited descriptor of the session channel, when the UI end is an app-shell. */
  channelFd?: number;
}

export const USAGE = "usage: weft-runtime <app_id> <session_id> --supervisor <unique bus name> [--channel-fd <n>]";

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = "UsageError";
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** A D-Bus unique connection name: `:` then two or more dot-separated elements of [A-Za-z0-9_-], ≤ 255 bytes. */
export function isUniqueBusName(name: string): boolean {
  return name.length <= 255 && /^:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name);
}

export function parseRuntimeArgs(argv: string[]): RuntimeArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { supervisor: { type: "string" }, "channel-fd": { type: "string" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [appId, sessionText, ...extra] = parsed.positionals;
  if (appId === undefined || sessionText === undefined) throw new UsageError("missing <app_id> or <session_id>");
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const problem = appIdProblem(appId);
  if (problem !== undefined) throw new UsageError(`${JSON.stringify(appId)} is not a valid app id: it ${problem}`);
  if (!/^[1-9][0-9]{0,19}$/.test(sessionText) || BigInt(sessionText) > U64_MAX) {
    throw new UsageError(`session id ${JSON.stringify(sessionText)} must be a decimal number from 1 to ${U64_MAX}`);
  }
  const supervisor = parsed.values.supervisor;
  if (supervisor === undefined) throw new UsageError("missing --supervisor: the unique bus name of the process that starts the session");
  if (!isUniqueBusName(supervisor)) throw new UsageError(`--supervisor ${JSON.stringify(supervisor)} is not a unique bus name like :1.42`);
  const channelText = parsed.values["channel-fd"];
  const channelProblem = channelText === undefined ? undefined : channelFdProblem(channelText);
  if (channelProblem !== undefined) throw new UsageError(channelProblem);
  const channelFd = channelText === undefined ? undefined : Number(channelText);
  return { appId, sessionId: BigInt(sessionText), supervisor, ...(channelFd === undefined ? {} : { channelFd }) };
}
