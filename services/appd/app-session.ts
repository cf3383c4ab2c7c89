/**
 * One app session as appd supervises it: its state, its runtime process, its scope, and its one way to end.
 *
 *   starting ──(guest ready, UI end bound)──► running
 *      │                                         │
 *      │   stop(reason): Terminate, appd stopping, 30 s without ready, a failed scope
 *      ├────────────────────────────────────────►├──► stopping ──(runtime's Stop, then SIGTERM;
 *      │                                         │                 5 s grace; SIGKILL every process)──► stopped
 *      └──(runtime exits by itself: refused package, crash, app exit)──────────────────────────────────► stopped
 *                                                          (via stopping while the app-shell is stopped)
 *
 * The app-shell (weft-app-shell, the session's window) is stopped on every path; when it ends by itself
 * (Chromium exited or crashed, it was killed) the session is stopped with "the app's window is gone: …".
 *
 * Every path to `stopped` goes through one promise (`#ending`), so a Terminate racing a crash, or a shutdown
 * racing a Terminate, ends the session once, with the first reason.
 */

import type { AppId } from "../../protocol/app-id.ts";
import { AppD, Runtime } from "../../protocol/dbus/index.ts";
import { GUEST_FINISH_GRACE_MS } from "../../protocol/limits.ts";
import { RUNTIME_EXIT } from "../../protocol/session-child.ts";
import type { Logger } from "../common/daemon/log.ts";
import { descendantsOf } from "../common/os/processes.ts";
import { describeAppShellExit, type AppShellHandle, type RuntimeHandle } from "./children.ts";

export type SessionState = "starting" | "running" | "stopping" | "stopped";

/**
 * Time the runtime gets to end after Stop (or SIGTERM) before every process of the session is killed: its guest's
 * grace to finish the message it is handling (a save), and time to unwind and exit after that.
 */
export const STOP_GRACE_MS = GUEST_FINISH_GRACE_MS + 3_000;
/** Time weft-app-shell gets to stop Chromium and end after SIGTERM before it and its Chromium are killed. */
export const UI_STOP_GRACE_MS = 5_000;
/**
 * An app-shell that ended with code 0 saw the session's runtime (or appd) leave; the runtime's own exit, which
 * says why the app ended, usually reaches appd a moment later. Only after this wait does the UI's end stop a
 * session that is still running (someone sent the app-shell SIGTERM).
 */
const UI_ENDED_WAIT_MS = 1_000;
/** How long an exit waits for the runtime's Exited signal, which says why the guest ended. */
const EXITED_SIGNAL_WAIT_MS = 200;
const SIGKILL = 9;

/** What the session tells the outside (appd's D-Bus surface) when it changes. */
export interface AppSessionObserver {
  stateChanged(session: AppSession, reason: string): void;
  propertiesChanged(session: AppSession, changed: Record<string, unknown>): void;
}

/** What a session asks of the manager of its scope (systemd; units.ts). */
export interface ScopeControl {
  /** Kills what is left of the session once the grace is over. */
  killUnit(unit: string, signal: number): Promise<void>;
  /** How the scope ended, once inactive: "success", "oom-kill", … (undefined when it cannot be told). */
  settle(unit: string): Promise<string | undefined>;
}

/** The reason of a session the kernel killed for going over its scope's MemoryMax (OOMPolicy=kill). */
export function outOfMemoryReason(limitBytes: bigint): string {
  return `the session ran out of memory: it reached its limit of ${limitBytes / 1024n / 1024n} MiB (MemoryMax), and the kernel killed its processes`;
}

export function microsecondsNow(): bigint {
  return BigInt(Date.now()) * 1000n;
}

export class AppSession {
  readonly path: string;
  readonly runtimeBusName: string;
  readonly startedAt = microsecondsNow();
  /** The unique bus name that launched the session (appd's own relaunches name themselves: no client matches). */
  launchedBy = "";
  state: SessionState = "starting";
  exitReason = "";
  stoppedAt = 0n;
  unitName = "";
  /** The runtime's unique name once it is known to be ours (its Exited signal is matched on it). */
  runtimeUniqueName: string | undefined;
  #runtime: RuntimeHandle | undefined;
  #ui: AppShellHandle | undefined;
  #uiGone: Promise<void> | undefined;
  #removeUiLeftovers: (() => Promise<void>) | undefined;
  #exited = false;
  #exitedSignal: { status: string; message: string } | undefined;
  #onExitedSignal: (() => void) | undefined;
  #ending: Promise<void> | undefined;
  readonly #log: Logger;
  readonly #stopped = Promise.withResolvers<void>();
  /** Resolves when the session is stopped, however it ends. */
  readonly stopped = this.#stopped.promise;

  constructor(
    readonly id: bigint,
    readonly appId: AppId,
    readonly headless: boolean,
    readonly grantedCapabilities: readonly string[],
    private readonly observer: AppSessionObserver,
    private readonly scope: ScopeControl,
    log: Logger,
    private readonly memoryLimitBytes = 0n,
  ) {
    this.path = AppD.sessionPath(id);
    this.runtimeBusName = Runtime.busName(id);
    this.#log = log.with({ session: String(id), app: appId });
  }

  get runtimePid(): number {
    return this.#runtime?.process.pid ?? 0;
  }

  get runtime(): RuntimeHandle | undefined {
    return this.#runtime;
  }

  /** weft-app-shell's pid; 0 while there is none (headless, before it is spawned, no compositor). */
  get uiPid(): number {
    return this.#ui?.process.pid ?? 0;
  }

  get ui(): AppShellHandle | undefined {
    return this.#ui;
  }

  /**
   * Adopts the spawned app-shell: from now on its exit ends the session (the app's window is gone), and every
   * end of the session stops it. `removeLeftovers` removes what a killed app-shell could not (its profile).
   */
  attachUi(ui: AppShellHandle, removeLeftovers: () => Promise<void>): void {
    this.#ui = ui;
    this.#removeUiLeftovers = removeLeftovers;
    this.observer.propertiesChanged(this, { UiPid: ui.process.pid });
    this.#uiGone = ui.exitCode.then(() => undefined);
    void ui.exitCode.then(async (code) => {
      const reason = `the app's window is gone: ${describeAppShellExit(code, ui.process.signalCode)}`;
      this.#log.info("weft-app-shell exited", { code, signal: ui.process.signalCode ?? "" });
      if (code === 0 && ui.process.signalCode === null) await Bun.sleep(UI_ENDED_WAIT_MS);
      this.#ending ??= this.#teardown(reason, true);
    });
  }

  get ended(): boolean {
    return this.#ending !== undefined;
  }

  /** Adopts the spawned runtime: from now on its exit ends the session. */
  attachRuntime(runtime: RuntimeHandle): void {
    this.#runtime = runtime;
    this.observer.propertiesChanged(this, { RuntimePid: runtime.process.pid });
    void runtime.exitCode.then((code) => this.#runtimeExited(code));
  }

  setUnit(unitName: string): void {
    this.unitName = unitName;
    this.observer.propertiesChanged(this, { UnitName: unitName });
  }

  /** The guest is ready and its UI end bound. Ignored once the session is ending. */
  markRunning(): void {
    if (this.#ending !== undefined || this.state !== "starting") return;
    this.#setState("running", "");
  }

  /** The runtime's Exited signal (status, message): kept for the exit reason. */
  runtimeReportedExit(status: string, message: string): void {
    this.#exitedSignal = { status, message: message.slice(0, 512) };
    this.#onExitedSignal?.();
  }

  /** Ends the session (idempotent): resolves once it is `stopped`. The first reason given is the one kept. */
  stop(reason: string): Promise<void> {
    this.#ending ??= this.#teardown(reason);
    return this.#ending;
  }


  async #teardown(reason: string, endedByItself = false): Promise<void> {
    this.#setState("stopping", reason);
    const uiStopped = this.#stopUi();
    const runtime = this.#runtime;
    if (runtime !== undefined && !this.#exited) {
      const asked = await runtime.client.callWith({ timeoutMs: 1_000 }, "Stop", reason.slice(0, 256)).then(
        () => true,
        () => false,
      );
      if (!asked) runtime.process.kill("SIGTERM"); // not on the bus (yet, or any more): the signal does the same
      if (!(await this.#exitWithin(STOP_GRACE_MS))) {
        this.#log.warn("the runtime did not stop within the grace; killing every process of the session", { graceMs: STOP_GRACE_MS });
        await this.#killEverything(runtime);
        if (!(await this.#exitWithin(5_000))) this.#log.error("the runtime survived SIGKILL", { pid: runtime.process.pid });
      }
    }
    await uiStopped;
    this.#finish(await this.#settleScope(reason, endedByItself));
  }

  /** SIGTERM to the app-shell (it stops its Chromium); after the grace, SIGKILL to it and everything below it. */
  async #stopUi(): Promise<void> {
    const ui = this.#ui;
    if (ui === undefined) return;
    if (ui.process.exitCode === null && ui.process.signalCode === null) {
      ui.process.kill("SIGTERM");
      const gone = await Promise.race([this.#uiGone!.then(() => true), Bun.sleep(UI_STOP_GRACE_MS).then(() => false)]);
      if (!gone) {
        this.#log.warn("weft-app-shell did not stop within the grace; killing it and its Chromium", { graceMs: UI_STOP_GRACE_MS });
        // Found before the kill: once the app-shell is gone its children are re-parented and no longer below it.
        for (const pid of [...descendantsOf(ui.process.pid), ui.process.pid]) {
          try {
            process.kill(pid, SIGKILL);
          } catch {
            // already gone
          }
        }
        await Promise.race([this.#uiGone!, Bun.sleep(5_000)]);
      }
    }
    await this.#removeUiLeftovers?.().catch((error) => this.#log.warn("could not remove what weft-app-shell left behind", { error: String(error) }));
  }

  async #runtimeExited(code: number): Promise<void> {
    this.#exited = true;
    if (this.#ending !== undefined) return; // a teardown in progress sees the exit itself
    this.#ending = (async () => {
      if (this.#exitedSignal === undefined) {
        await Promise.race([new Promise<void>((resolve) => (this.#onExitedSignal = resolve)), Bun.sleep(EXITED_SIGNAL_WAIT_MS)]);
      }
      const reason = this.#describeExit(code);
      if (this.#ui !== undefined) {
        this.#setState("stopping", reason); // the app-shell still has to go
        await this.#stopUi();
      }
      this.#finish(await this.#settleScope(reason, true));
    })();
  }

  /**
   * Waits for the session's scope to be over and reads how it ended. A session that ended by itself (its runtime
   * or its window died) and whose scope systemd reports "oom-kill" ran out of memory: that is its reason then, not
   * the kill that came of it. A stop someone asked for keeps its reason.
   */
  async #settleScope(reason: string, endedByItself: boolean): Promise<string> {
    if (this.unitName === "") return reason;
    const result = await this.scope.settle(this.unitName).catch(() => undefined);
    if (result === "oom-kill") {
      this.#log.warn("the kernel killed the session for going over its memory limit", { unit: this.unitName });
      if (endedByItself) return outOfMemoryReason(this.memoryLimitBytes);
    }
    return reason;
  }

  #describeExit(code: number): string {
    const signal = this.#runtime?.process.signalCode;
    if (this.#exitedSignal !== undefined) {
      const { status, message } = this.#exitedSignal;
      return `the app ended (${status}${message === "" ? "" : `: ${message}`})`;
    }
    if (signal) return `the runtime was killed by ${signal}`;
    if (code === RUNTIME_EXIT.refused) return "the runtime refused to start the session (its log, in appd's, says why)";
    return `the runtime exited with code ${code}`;
  }

  #exitWithin(ms: number): Promise<boolean> {
    const runtime = this.#runtime!;
    return Promise.race([runtime.exitCode.then(() => true), Bun.sleep(ms).then(() => this.#exited)]);
  }

  /** SIGKILL for the runtime and every process below it, and for the whole scope when there is one. */
  async #killEverything(runtime: RuntimeHandle): Promise<void> {
    for (const pid of [...descendantsOf(runtime.process.pid), runtime.process.pid]) {
      try {
        process.kill(pid, SIGKILL);
      } catch {
        // already gone
      }
    }
    if (this.unitName !== "") {
      await this.scope.killUnit(this.unitName, SIGKILL).catch((error) =>
        this.#log.warn("systemd could not kill the session's scope", { unit: this.unitName, error: String(error) }),
      );
    }
  }

  #finish(reason: string): void {
    this.exitReason = reason;
    this.stoppedAt = microsecondsNow();
    this.observer.propertiesChanged(this, { ExitReason: reason, StoppedAt: this.stoppedAt });
    this.#setState("stopped", reason);
    this.#log.info("session stopped", { reason });
    this.#stopped.resolve();
  }

  #setState(state: SessionState, reason: string): void {
    this.state = state;
    this.observer.propertiesChanged(this, { State: state });
    this.observer.stateChanged(this, reason);
  }
}
