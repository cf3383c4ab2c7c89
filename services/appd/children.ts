/**
 * A session's two child processes as their supervisor starts and follows them: weft-runtime and weft-app-shell.
 * appd does this for every session; the tests and benches that play appd do it too.
 *
 *   SessionChild     spawn with the command line of protocol/session-child.ts, the whole environment given,
 *                    the record of the package the supervisor verified as descriptor 3 (a sealed memfd:
 *                    protocol/package-record.ts), the session channel as descriptor 4; the child's log, line
 *                    by line; its exit
 *   RuntimeHandle    + Runtime1 as the supervisor sees it: wait for a State (on PropertiesChanged, never
 *                    polling), bind the UI end, post, stop
 *   AppShellHandle   + wait until it owns its bus name (on NameOwnerChanged, never polling)
 *
 * The supervisor's own connection goes on the command line as `--supervisor`, so only it may bind the UI end or
 * stop the session.
 */

import { join } from "node:path";
import { AppShell, Runtime, Runtime1 } from "../../protocol/dbus/index.ts";
import { encodePackageRecord } from "../../protocol/package-record.ts";
import { APP_SHELL_EXIT, CHILD_CHANNEL_FD, CHILD_PACKAGE_FD, sessionChildArgv } from "../../protocol/session-child.ts";
import type { BusConnection, BusProxy } from "../common/bus/index.ts";
import { closeFd } from "../common/bus/libc.ts";
import { forEachLine } from "../common/os/lines.ts";
import { sealedContent } from "../common/os/sealed-content.ts";
import type { VerifiedPackage } from "../common/package/verified-package.ts";

const RUNTIME_MAIN = join(import.meta.dir, "../runtime/main.ts");
const APP_SHELL_MAIN = join(import.meta.dir, "../app-shell/main.ts");
const PROPERTIES = "org.freedesktop.DBus.Properties";

export interface SessionChildOptions {
  /** The session's package as the supervisor verified it: the child trusts the files it reads only against this. */
  package: VerifiedPackage;
  sessionId: bigint;
  /** The supervisor's connection; the child must be on the same bus (pass its address in `env`). */
  supervisor: BusConnection;
  /** The child's whole environment (HOME, WEFT_BUS_ADDRESS, …): nothing else is inherited. */
  env: Record<string, string>;
  /** Receives the child's stderr (its structured log), line by line. */
  onLogLine?: (line: string) => void;
  /**
   * The child's end of the session channel: passed as its descriptor 4. The caller still owns `channelFd` and
   * closes it once the child is spawned.
   */
  channelFd?: number;
}

/** One child process of a session. */
export class SessionChild {
  readonly process: ReturnType<typeof Bun.spawn>;
  /** The child's exit code. */
  readonly exitCode: Promise<number>;

  constructor(
    main: string,
    readonly options: SessionChildOptions,
    supervisorName = options.supervisor.uniqueName,
  ) {
    const channel = options.channelFd === undefined ? {} : { channelFd: CHILD_CHANNEL_FD };
    const { record } = options.package;
    const argv = sessionChildArgv({ appId: record.appId, sessionId: options.sessionId, supervisor: supervisorName, packageFd: CHILD_PACKAGE_FD, ...channel });
    const packageFd = sealedContent(`weft-package-${record.appId}`, encodePackageRecord(record));
    try {
      this.process = Bun.spawn([process.execPath, main, ...argv], {
        env: options.env,
        stdio: ["ignore", "ignore", "pipe", packageFd, ...(options.channelFd === undefined ? [] : [options.channelFd])],
      });
    } finally {
      closeFd(packageFd); // the child has its own copy
    }
    void forEachLine(this.process.stderr as ReadableStream<Uint8Array>, (line) => options.onLogLine?.(line));
    this.exitCode = this.process.exited;
  }
}

export interface SpawnRuntimeOptions extends SessionChildOptions {
  /** Supervisor name to pass instead of `supervisor.uniqueName` (tests of refusals). */
  supervisorName?: string;
}

export class RuntimeHandle extends SessionChild {
  readonly busName: string;
  /** Runtime1 as seen from the supervisor. */
  readonly client: BusProxy<typeof Runtime1>;

  constructor(override readonly options: SpawnRuntimeOptions) {
    super(RUNTIME_MAIN, options, options.supervisorName);
    this.busName = Runtime.busName(options.sessionId);
    this.client = options.supervisor.proxy(Runtime1, Runtime.of(options.sessionId));
  }

  /**
   * Resolves once the runtime's State is `state`, from its PropertiesChanged signal (and one read, for a state
   * reached before the subscription); rejects if it exits first or the time runs out.
   */
  async waitForState(state: "running", timeoutMs = 60_000): Promise<void> {
    const runtime = `weft-runtime for ${this.options.package.record.appId}`;
    const exited = this.exitCode.then((code): never => {
      throw new Error(`${runtime} exited with ${code} before it was ${state}`);
    });
    await this.options.supervisor.waitForSignal(
      { sender: this.busName, path: Runtime.path, interface: PROPERTIES, member: "PropertiesChanged" },
      ([iface, changed]) => (iface === Runtime1.name && (changed as Record<string, { value: unknown }>).State?.value === state ? true : undefined),
      {
        timeoutMs,
        abandon: exited,
        timeoutMessage: `${runtime} was not ${state} after ${timeoutMs} ms`,
        // Not on the bus yet: the signal will tell.
        current: () => this.client.get("State").then((current) => (current === state ? true : undefined), () => undefined),
      },
    );
  }

  /** Makes the supervisor's own connection the UI end; `onMessage` receives the guest's messages. */
  async bindSupervisorAsUi(onMessage: (payload: string) => void): Promise<void> {
    const subscription = await this.client.on("Message", (payload) => onMessage(payload));
    // The supervisor's connection outlives this runtime: its match rule and listener go when the runtime does.
    void this.exitCode.then(() => subscription.close()).catch(() => {});
    await this.client.call("BindUi", this.options.supervisor.uniqueName);
  }

  post(payload: string): Promise<unknown> {
    return this.client.call("Post", payload);
  }

  stop(reason = "stopped by its supervisor"): Promise<unknown> {
    return this.client.call("Stop", reason);
  }
}

export interface SpawnAppShellOptions extends SessionChildOptions {
  /** The app-shell's end of the session channel (the runtime holds the other). */
  channelFd: number;
}

export class AppShellHandle extends SessionChild {
  readonly busName: string;

  constructor(override readonly options: SpawnAppShellOptions) {
    super(APP_SHELL_MAIN, options);
    this.busName = AppShell.busName(options.sessionId);
  }

  /** Resolves with the owner of the app-shell's bus name once it is ready; rejects if it exits first or time runs out. */
  async waitForReady(timeoutMs: number): Promise<string> {
    const exited = this.exitCode.then((): never => {
      throw new Error(`weft-app-shell exited (${describeAppShellExit(this.process.exitCode, this.process.signalCode)}) before it was ready`);
    });
    return this.options.supervisor.waitForOwner(this.busName, {
      timeoutMs,
      abandon: exited,
      timeoutMessage: `weft-app-shell did not show the page within ${timeoutMs / 1000} s`,
    });
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
