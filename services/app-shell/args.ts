/**
 * `weft-app-shell <app_id> <session_id> --supervisor <unique bus name> --channel-fd <n>`: parsed and validated
 * once, here. `--channel-fd` names the inherited descriptor of the session channel to the runtime
 * (common/session-channel.ts).
 * What the view shows (the UI files, the entry page) comes from the verified package, never from the command
 * line; the only other input is the environment's WEFT_APP_SHELL_INSPECT (inspect.ts).
 */

import { parseArgs } from "node:util";
import { appIdProblem } from "../common/app-id.ts";
import { channelFdProblem } from "../common/session-channel.ts";
import { isUniqueBusName } from "../runtime/args.ts";

export interface AppShellArgs {
  appId: string;
  sessionId: bigint;
  /** appd's unique bus name: when it leaves the bus, the session is over. */
  supervisor: string;
  /** The inherited descriptor of the session channel: the page's messages go to the runtime there, and back. */
  channelFd: number;
}

export const USAGE = "usage: weft-app-shell <app_id> <session_id> --supervisor <unique bus name> --channel-fd <n>";

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = "UsageError";
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** Shortens hostile argument text before it is echoed into a message. */
function shown(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

export function parseAppShellArgs(argv: string[]): AppShellArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { supervisor: { type: "string" }, "channel-fd": { type: "string" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.slice(0, 200));
  }
  const [appId, sessionText, ...extra] = parsed.positionals;
  if (appId === undefined || sessionText === undefined) throw new UsageError("missing <app_id> or <session_id>");
  if (extra.length > 0) throw new UsageError(`unexpected argument ${shown(extra[0]!)}`);
  const problem = appIdProblem(appId);
  if (problem !== undefined) throw new UsageError(`${shown(appId)} is not a valid app id: it ${problem}`);
  if (!/^[1-9][0-9]{0,19}$/.test(sessionText) || BigInt(sessionText) > U64_MAX) {
    throw new UsageError(`session id ${shown(sessionText)} must be a decimal number from 1 to ${U64_MAX}`);
  }
  const supervisor = parsed.values.supervisor;
  if (supervisor === undefined) throw new UsageError("missing --supervisor: the unique bus name of appd, which starts the app-shell");
  if (!isUniqueBusName(supervisor)) throw new UsageError(`--supervisor ${shown(supervisor)} is not a unique bus name like :1.42`);
  const channelText = parsed.values["channel-fd"];
  if (channelText === undefined) throw new UsageError("missing --channel-fd: the session channel to the runtime, which appd passes");
  const channelProblem = channelFdProblem(channelText);
  if (channelProblem !== undefined) throw new UsageError(channelProblem);
  return { appId, sessionId: BigInt(sessionText), supervisor, channelFd: Number(channelText) };
}
