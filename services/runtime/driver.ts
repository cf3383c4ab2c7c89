/**
 * Starting and driving one weft-runtime process from its supervisor: what appd does for each session (issue 4),
 * what the demo does, and what the tests do. The supervisor's own bus connection is passed to the runtime as
 * `--supervisor`, so only it may bind the UI end or stop the session.
 */

import { join } from "node:path";
import type { BusConnection, BusProxy } from "../common/bus/index.ts";
import { CHILD_CHANNEL_FD, sessionChildArgv } from "../../protocol/session-child.ts";
import { forEachLine } from "../common/lines.ts";
import { Runtime, Runtime1 } from "../../protocol/dbus/index.ts";

const MAIN = join(import.meta.dir, "main.ts");

export interface SpawnRuntimeOptions {
  appId: string;
  sessionId: bigint;
  /** The supervisor's connection; the runtime must be on the same bus (pass its address in `env`). */
  supervisor: BusConnection;
  /** The runtime's whole environment (HOME, WEFT_BUS_ADDRESS, …): nothing else is inherited. */
  env: Record<string, string>;
  /** Receives the runtime's stderr (its structured log), line by line. */
  onLogLine?: (line: string) => void;
  /** Supervisor name to pass instead of `supervisor.uniqueName` (tests of refusals). */
  supervisorName?: string;
  /**
   * The runtime's end of the session channel (a windowed session, whose UI end is an app-shell): passed as the
   * child's descriptor 3. The caller still owns `channelFd` and closes it once the runtime is spawned.
   */
  channelFd?: number;
}

export class RuntimeHandle {
  readonly process: ReturnType<typeof Bun.spawn>;
  readonly busName: string;
  /** Runtime1 as seen from the supervisor. */
  readonly client: BusProxy<typeof Runtime1>;
  /** The runtime's exit code. */
  readonly exitCode: Promise<number>;

  constructor(readonly options: SpawnRuntimeOptions) {
    this.busName = Runtime.busName(options.sessionId);
    this.client = options.supervisor.proxy(Runtime1, Runtime.of(options.sessionId));
    const supervisor = options.supervisorName ?? options.supervisor.uniqueName;
    const argv = sessionChildArgv({ appId: options.appId, sessionId: options.sessionId, supervisor, ...(options.channelFd === undefined ? {} : { channelFd: CHILD_CHANNEL_FD }) });
    this.process = Bun.spawn([process.execPath, MAIN, ...argv], {
      env: options.env,
      stdio: ["ignore", "ignore", "pipe", ...(options.channelFd === undefined ? [] : [options.channelFd])],
    });
    void forEachLine(this.process.stderr as ReadableStream<Uint8Array>, (line) => this.options.onLogLine?.(line));
    this.exitCode = this.process.exited;
  }

  /** Waits until the runtime reports `state` on the bus; rejects if it exits first or the time runs out. */
  async waitForState(state: "running" | "exited", timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await this.client.get("State")) === state) return;
      } catch {
        // not on the bus yet
      }
      if (this.process.exitCode !== null) throw new Error(`weft-runtime for ${this.options.appId} exited with ${this.process.exitCode} before it was ${state}`);
      if (Date.now() > deadline) throw new Error(`weft-runtime for ${this.options.appId} was not ${state} after ${timeoutMs} ms`);
      await Bun.sleep(20);
    }
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
