/**
 * The WEFT mesh as one unit: a bus, then each service as its own process, in dependency order, each one
 * waited for until it owns its bus name (which it takes only once it is ready). Stopped in reverse: SIGTERM,
 * a grace period, then SIGKILL; the private bus goes last.
 *
 *   compositor (org.weft.Compositor1) → file portal (org.weft.FilePortal1) → appd (org.weft.AppD1) → shell (org.weft.Shell1)
 *
 * A service that exits on its own is restarted when its spec says so (the shell: the apps keep running while
 * a new shell comes up and picks up their sessions), at most RESTART_LIMIT times a minute; any other exit is
 * reported through `onExit`, and `weft session` decides what that means.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { AppD, Compositor, FilePortal, Shell } from "../../protocol/dbus/index.ts";
import { connectBus, type BusConnection } from "../common/bus/index.ts";
import { startPrivateBus, type PrivateBus } from "../common/bus/private-bus.ts";
import type { Logger } from "../common/daemon/log.ts";

const SERVICES_DIR = join(import.meta.dir, "..");
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
/** Restarts of one service within RESTART_WINDOW_MS before its exit counts as a failure. */
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;

export interface ServiceSpec {
  /** Short name for logs ("compositor"). */
  name: string;
  /** The bus name it owns once ready. */
  busName: string;
  /** Program (a .ts file run with Bun). */
  script: string;
  /** Extra environment for this service. */
  env?: Record<string, string>;
  /** Started again when it exits on its own (it holds no state others depend on). */
  restart?: boolean;
}

export type Backend = "headless" | "x11" | "wayland";

/** headless unless a display exists: nested in the developer's session then (issue 6: "nested when a display exists"). */
export function chooseBackend(env: Record<string, string | undefined>, requested?: string): Backend {
  if (requested === "headless" || requested === "x11" || requested === "wayland") return requested;
  if (requested !== undefined && requested !== "auto") throw new Error(`unknown backend ${JSON.stringify(requested)}: use headless, x11, wayland or auto`);
  if (env.WAYLAND_DISPLAY) return "wayland";
  if (env.DISPLAY) return "x11";
  return "headless";
}

/** The four services of a desktop session, in start order. The shell is left out when it is not installed. */
export function sessionServices(backend: Backend, extraEnv: Record<string, string> = {}): ServiceSpec[] {
  const specs: ServiceSpec[] = [
    {
      name: "compositor",
      busName: Compositor.busName,
      script: join(SERVICES_DIR, "compositor/main.ts"),
      // Set at process start: wlroots reads them with getenv().
      env: { WLR_BACKENDS: backend, WLR_RENDERER: process.env.WLR_RENDERER ?? "pixman", ...extraEnv },
    },
    { name: "file-portal", busName: FilePortal.busName, script: join(SERVICES_DIR, "file-portal/main.ts"), env: extraEnv },
    { name: "appd", busName: AppD.busName, script: join(SERVICES_DIR, "appd/main.ts"), env: extraEnv },
  ];
  const shell = join(SERVICES_DIR, "shell/main.ts");
  // The shell holds no state: appd and the compositor know the sessions and windows, so a new shell takes over.
  if (existsSync(shell)) specs.push({ name: "shell", busName: Shell.busName, script: shell, env: extraEnv, restart: true });
  return specs;
}

export interface RunningService {
  spec: ServiceSpec;
  process: Bun.Subprocess<"ignore", "inherit" | "pipe", "inherit" | "pipe">;
}

export interface MeshOptions {
  services: ServiceSpec[];
  /** Environment every service gets (HOME, XDG_RUNTIME_DIR, …); WEFT_BUS_ADDRESS is added. */
  env: Record<string, string>;
  log: Logger;
  /** An existing bus to use instead of a private one (e.g. the user's session bus). */
  busAddress?: string;
  /** Where services' stderr goes: inherited (default), or to this function line by line. */
  onLogLine?: (service: string, line: string) => void;
  /** A service exited while the mesh was up (not during stop()) and is not restarted. */
  onExit?: (service: string, code: number | null, signal: string | null) => void;
  /** A service exited and was started again (it owns its name again). */
  onRestart?: (service: string, code: number | null, signal: string | null) => void;
}

export class Mesh {
  readonly running: RunningService[] = [];
  #stopping = false;
  readonly #restarts = new Map<string, number[]>();

  private constructor(
    readonly bus: BusConnection,
    readonly busAddress: string,
    readonly privateBus: PrivateBus | undefined,
    readonly options: MeshOptions,
  ) {}

  /** Starts the bus and every service in order; on a failure, stops what was started and throws. */
  static async start(options: MeshOptions): Promise<Mesh> {
    const privateBus = options.busAddress === undefined ? await startPrivateBus() : undefined;
    const address = options.busAddress ?? privateBus!.address;
    let bus: BusConnection | undefined;
    try {
      bus = await connectBus({ address });
    } catch (error) {
      await privateBus?.close();
      throw error;
    }
    const mesh = new Mesh(bus, address, privateBus, options);
    try {
      for (const spec of options.services) await mesh.#startService(spec);
    } catch (error) {
      await mesh.stop();
      throw error;
    }
    return mesh;
  }

  async #startService(spec: ServiceSpec): Promise<void> {
    const { log } = this.options;
    if (await this.bus.nameHasOwner(spec.busName)) throw new Error(`${spec.busName} is already owned on this bus: is another session running on it?`);
    const started = performance.now();
    const piped = this.options.onLogLine !== undefined;
    const child = Bun.spawn([process.execPath, spec.script], {
      env: { ...this.options.env, ...spec.env, WEFT_BUS_ADDRESS: this.busAddress },
      stdin: "ignore",
      stdout: piped ? "pipe" : "inherit",
      stderr: piped ? "pipe" : "inherit",
    });
    const service: RunningService = { spec, process: child };
    this.running.push(service);
    if (piped) {
      for (const stream of [child.stdout, child.stderr] as ReadableStream<Uint8Array>[]) void this.#forwardLines(spec.name, stream);
    }
    void child.exited.then((code) => {
      if (this.#stopping) return;
      const signal = child.signalCode === null ? null : String(child.signalCode);
      if (spec.restart && this.#mayRestart(spec.name)) {
        void this.#restart(service, code, signal);
        return;
      }
      this.options.onExit?.(spec.name, code, signal);
    });

    // Ready is the name taken (NameOwnerChanged), or the process gone first.
    const exitedEarly = child.exited.then((): never => {
      throw new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready: see its log above`);
    });
    await this.bus.waitForOwner(spec.busName, {
      timeoutMs: READY_TIMEOUT_MS,
      abandon: exitedEarly,
      timeoutMessage: `${spec.name} did not own ${spec.busName} within ${READY_TIMEOUT_MS / 1000} s`,
    });
    log.info("service ready", { service: spec.name, name: spec.busName, ms: Math.round(performance.now() - started), pid: child.pid });
  }

  #mayRestart(name: string): boolean {
    const now = Date.now();
    const recent = (this.#restarts.get(name) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
    recent.push(now);
    this.#restarts.set(name, recent);
    return recent.length <= RESTART_LIMIT;
  }

  async #restart(service: RunningService, code: number | null, signal: string | null): Promise<void> {
    const index = this.running.indexOf(service);
    if (index >= 0) this.running.splice(index, 1);
    this.options.log.warn("a service exited: starting it again", { service: service.spec.name, code: code ?? undefined, signal: signal ?? undefined });
    try {
      // The bus releases the old process's name when its connection closes, which may come just after the exit.
      await this.bus.waitForRelease(service.spec.busName, { timeoutMs: 5_000 }).catch(() => undefined);
      if (this.#stopping) return;
      await this.#startService(service.spec);
      this.options.onRestart?.(service.spec.name, code, signal);
    } catch (error) {
      this.options.log.error("the service did not come back", { service: service.spec.name, error: (error as Error).message });
      if (!this.#stopping) this.options.onExit?.(service.spec.name, code, signal);
    }
  }

  async #forwardLines(service: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        this.options.onLogLine?.(service, pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    if (pending !== "") this.options.onLogLine?.(service, pending);
  }

  /** The running process of `name`, if any. */
  service(name: string): RunningService | undefined {
    return this.running.find((s) => s.spec.name === name);
  }

  /** Stops every service in reverse order (SIGTERM, grace, SIGKILL), then the bus. Safe to call twice. */
  async stop(): Promise<{ service: string; code: number | null; signal: string | null }[]> {
    this.#stopping = true;
    const outcomes: { service: string; code: number | null; signal: string | null }[] = [];
    for (const { spec, process: child } of [...this.running].reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
        await child.exited;
        clearTimeout(timer);
      }
      outcomes.push({ service: spec.name, code: child.exitCode, signal: child.signalCode === null ? null : String(child.signalCode) });
    }
    this.running.length = 0;
    this.bus.close();
    await this.privateBus?.close();
    return outcomes;
  }
}
