/**
 * Starting one weft-app-shell from its supervisor (appd; tests), and where its Chromium profile lives.
 *
 * The profile goes to a directory per session, `$XDG_RUNTIME_DIR/weft/app-shell/<session_id>/` (the temp dir
 * when there is no XDG_RUNTIME_DIR). The app-shell removes its profile when it ends; if it is killed before it
 * can, appd removes the session's directory when the session stops, so nothing of a session stays behind.
 */

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BusConnection } from "../common/bus/index.ts";
import { forEachLine } from "../common/lines.ts";
import { CHILD_CHANNEL_FD, sessionChildArgv } from "../../protocol/session-child.ts";
import { AppShell } from "../../protocol/dbus/index.ts";

const MAIN = join(import.meta.dir, "main.ts");

/** Exit codes of weft-app-shell (docs/app-shell.md). */
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

export function profileParentFor(sessionId: bigint, env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "weft", "app-shell") : join(tmpdir(), `weft-app-shell-${process.getuid?.() ?? "user"}`);
  return join(base, String(sessionId));
}

/**
 * Removes whatever a session's app-shell left of its profile (after it was killed). A Chromium that is still
 * going away (its parent-death signal is on its way) could write into the directory after it was removed, so
 * any process whose command line names the directory is killed and waited for first.
 */
export async function removeSessionProfiles(sessionId: bigint, env: Record<string, string | undefined> = process.env): Promise<void> {
  const dir = profileParentFor(sessionId, env);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const users = processesNaming(dir);
    if (users.length === 0 || Date.now() > deadline) break;
    for (const pid of users) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Bun.sleep(20);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Live processes whose command line contains `text` (zombies excluded: they hold nothing). */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat[stat.lastIndexOf(")") + 2] !== "Z") found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

export interface SpawnAppShellOptions {
  appId: string;
  sessionId: bigint;
  /** The supervisor's connection (appd's): its unique name goes on the command line. */
  supervisor: BusConnection;
  /** The app-shell's whole environment (WEFT_BUS_ADDRESS, HOME, XDG_RUNTIME_DIR…). */
  env: Record<string, string>;
  /**
   * The app-shell's end of the session channel (the runtime holds the other): passed as the child's descriptor 3.
   * The caller still owns `channelFd` and closes it once the app-shell is spawned.
   */
  channelFd: number;
  onLogLine?: (line: string) => void;
}

export class AppShellHandle {
  readonly process: ReturnType<typeof Bun.spawn>;
  readonly busName: string;
  readonly exitCode: Promise<number>;

  constructor(readonly options: SpawnAppShellOptions) {
    this.busName = AppShell.busName(options.sessionId);
    this.process = Bun.spawn(
      [process.execPath, MAIN, ...sessionChildArgv({ appId: options.appId, sessionId: options.sessionId, supervisor: options.supervisor.uniqueName, channelFd: CHILD_CHANNEL_FD })],
      { env: options.env, stdio: ["ignore", "ignore", "pipe", options.channelFd] },
    );
    void forEachLine(this.process.stderr as ReadableStream<Uint8Array>, (line) => options.onLogLine?.(line));
    this.exitCode = this.process.exited;
  }

  /** Resolves with the owner of the app-shell's bus name once it is ready; rejects if it exits first or time runs out. */
  async waitForReady(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owner = await this.options.supervisor.nameOwner(this.busName);
      if (owner !== undefined) return owner;
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`weft-app-shell exited (${describeAppShellExit(this.process.exitCode, this.process.signalCode)}) before it was ready`);
      }
      if (Date.now() > deadline) throw new Error(`weft-app-shell did not show the page within ${timeoutMs / 1000} s`);
      await Bun.sleep(25);
    }
  }
}

/** A sentence for an app-shell's end, as appd puts it into a session's ExitReason. */
export function describeAppShellExit(code: number | null, signal: string | number | null | undefined): string {
  if (signal) return `weft-app-shell was killed by ${signal}`;
  switch (code) {
    case APP_SHELL_EXIT.ended:
      return "weft-app-shell ended";
    case APP_SHELL_EXIT.lostBus:
      return "weft-app-shell lost the bus";
    case APP_SHELL_EXIT.startFailed:
      return "weft-app-shell could not show the app (its log, in appd's, says why)";
    case APP_SHELL_EXIT.chromiumGone:
      return "Chromium exited or crashed (weft-app-shell exit 4)";
    default:
      return `weft-app-shell exited with code ${code}`;
  }
}
