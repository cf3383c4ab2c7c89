/**
 * The command line of a session's two child processes, both started by appd (or a test playing appd):
 *
 *   weft-runtime   <app_id> <session_id> --supervisor <unique bus name> --package-fd <n> [--channel-fd <n>]
 *   weft-app-shell <app_id> <session_id> --supervisor <unique bus name> --package-fd <n>  --channel-fd <n>
 *
 * `--supervisor` is the unique bus name of the process that started the child: only it may stop the session, and
 * when it leaves the bus the session ends. `--package-fd` names the inherited descriptor of the package record
 * (protocol/package-record.ts): the package the supervisor verified, with the hash of every file. `--channel-fd`
 * names the inherited descriptor of the session channel (protocol/session-channel.md) that joins the runtime and
 * the app-shell; a runtime without one serves a bus UI end instead. Everything else a child needs (module,
 * capabilities, UI files) comes from the verified package's files, never from the command line, so the one who
 * starts a child cannot widen what an app may do.
 *
 * `sessionChildArgv` writes it (appd), `parseSessionChildArgs` reads it (the children): one grammar.
 */

import { parseArgs } from "node:util";
import { appIdProblem, type AppId } from "./app-id.ts";
import { UsageError } from "./usage.ts";

export { UsageError };

export type SessionChildProgram = "weft-runtime" | "weft-app-shell";

export interface SessionChildArgs {
  appId: AppId;
  sessionId: bigint;
  /** The unique bus name of the peer that started the child. */
  supervisor: string;
  /** The inherited descriptor of the package record (protocol/package-record.ts). */
  packageFd: number;
  /** The inherited descriptor of the session channel (always there for the app-shell). */
  channelFd?: number;
}

/** Where a spawned runtime or app-shell finds the package record: the first descriptor after the standard three.
 *  Whether it really is a sealed memfd is checked when it is read. */
export const CHILD_PACKAGE_FD = 3;
/** Where a spawned runtime or app-shell finds its end of the session channel. Whether it really is a connected
 *  socket is checked when the channel is opened. */
export const CHILD_CHANNEL_FD = 4;

const U64_MAX = (1n << 64n) - 1n;

export function usage(program: SessionChildProgram): string {
  const channel = program === "weft-app-shell" ? "--channel-fd <n>" : "[--channel-fd <n>]";
  return `usage: ${program} <app_id> <session_id> --supervisor <unique bus name> --package-fd <n> ${channel}`;
}

/** A D-Bus unique connection name: `:` then two or more dot-separated elements of [A-Za-z0-9_-], ≤ 255 bytes. */
export function isUniqueBusName(name: string): boolean {
  return name.length <= 255 && /^:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name);
}

/** Why `text` cannot be a child's `--<option>` descriptor, or undefined: an inherited descriptor above the
 *  standard three (a process's own numbers go up to 2^20 at most). */
export function inheritedFdProblem(option: "channel-fd" | "package-fd", text: string): string | undefined {
  if (/^[0-9]{1,7}$/.test(text) && Number(text) >= 3 && Number(text) <= 1_048_576) return undefined;
  return `--${option} ${JSON.stringify(text.slice(0, 32))} is not a descriptor number from 3 to 1048576`;
}

/** Hostile argument text, shortened before it is echoed into a message. */
function shown(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** The arguments (after the program) that start a child for `args` (the child checks them all again). */
export function sessionChildArgv(args: Omit<SessionChildArgs, "appId"> & { appId: string }): string[] {
  const channel = args.channelFd === undefined ? [] : ["--channel-fd", String(args.channelFd)];
  return [args.appId, String(args.sessionId), "--supervisor", args.supervisor, "--package-fd", String(args.packageFd), ...channel];
}

/** An app-shell's arguments: it always has the session channel. */
export type AppShellArgs = SessionChildArgs & { channelFd: number };

/** Reads a child's command line, or throws a UsageError that says what is wrong (and the usage). */
export function parseSessionChildArgs(program: "weft-app-shell", argv: string[]): AppShellArgs;
export function parseSessionChildArgs(program: SessionChildProgram, argv: string[]): SessionChildArgs;
export function parseSessionChildArgs(program: SessionChildProgram, argv: string[]): SessionChildArgs {
  const fail = (message: string): never => {
    throw new UsageError(`${message}\n${usage(program)}`);
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { supervisor: { type: "string" }, "package-fd": { type: "string" }, "channel-fd": { type: "string" } }, allowPositionals: true, strict: true });
  } catch (error) {
    return fail((error as Error).message.slice(0, 200));
  }
  const [appId, sessionText, ...extra] = parsed.positionals;
  if (appId === undefined || sessionText === undefined) return fail("missing <app_id> or <session_id>");
  if (extra.length > 0) fail(`unexpected argument ${shown(extra[0]!)}`);
  const problem = appIdProblem(appId);
  if (problem !== undefined) fail(`${shown(appId)} is not a valid app id: it ${problem}`);
  if (!/^[1-9][0-9]{0,19}$/.test(sessionText) || BigInt(sessionText) > U64_MAX) {
    fail(`session id ${shown(sessionText)} must be a decimal number from 1 to ${U64_MAX}`);
  }
  const supervisor = parsed.values.supervisor;
  if (supervisor === undefined) return fail("missing --supervisor: the unique bus name of the process that starts the session (appd)");
  if (!isUniqueBusName(supervisor)) fail(`--supervisor ${shown(supervisor)} is not a unique bus name like :1.42`);
  const packageText = parsed.values["package-fd"];
  if (packageText === undefined) return fail("missing --package-fd: the record of the package appd verified, which appd passes");
  const packageProblem = inheritedFdProblem("package-fd", packageText);
  if (packageProblem !== undefined) fail(packageProblem);
  const channelText = parsed.values["channel-fd"];
  if (channelText === undefined && program === "weft-app-shell") fail("missing --channel-fd: the session channel to the runtime, which appd passes");
  const channelProblem = channelText === undefined ? undefined : inheritedFdProblem("channel-fd", channelText);
  if (channelProblem !== undefined) fail(channelProblem);
  if (channelText !== undefined && channelText === packageText) fail("--package-fd and --channel-fd name the same descriptor");
  return {
    appId: appId as AppId,
    sessionId: BigInt(sessionText),
    supervisor,
    packageFd: Number(packageText),
    ...(channelText === undefined ? {} : { channelFd: Number(channelText) }),
  };
}

/** How weft-runtime ends (its exit status), as appd reads it. */
export const RUNTIME_EXIT = {
  /** The guest's run returned ok (or it exited 0). */
  ok: 0,
  /** The guest failed, trapped, ran out of memory or was stopped: its Exited signal says which. */
  failed: 1,
  usage: 2,
  /** The session could not start: package refused, supervisor absent, environment. */
  refused: 3,
  internal: 70,
} as const;

/** How weft-app-shell ends (its exit status), as appd reads it (docs/app-shell.md). */
export const APP_SHELL_EXIT = {
  /** The session ended (runtime gone, supervisor gone, SIGTERM). */
  ended: 0,
  lostBus: 1,
  usage: 2,
  /** Could not start: package refused, no compositor, Chromium did not load the page, name taken… */
  startFailed: 3,
  /** Chromium exited or crashed while the session ran: the app's window is gone. */
  chromiumGone: 4,
  internal: 70,
} as const;
