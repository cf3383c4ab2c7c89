/**
 * Test fixtures for appd: the real `weft-appd` process (bun services/appd/main.ts) in a RuntimeWorld (private
 * bus, HOME, store, trust store), and a stand-in `org.freedesktop.systemd1` that records the transient units
 * it is asked for and finishes their jobs, the way systemd's manager answers StartTransientUnit.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { busError, connectBus, type BusConnection, type BusProxy } from "../services/common/bus/index.ts";
import { forEachLine } from "../services/common/os/lines.ts";
import { RuntimeWorld, until } from "./runtime.ts";
import { decodePng, type Pixels } from "../services/common/image/png.ts";
import { AppD, AppD1, Compositor, Compositor1, Compositor1TestInput, type WindowRow, windowRows } from "../protocol/dbus/index.ts";

const MAIN = join(import.meta.dir, "../services/appd/main.ts");
const COMPOSITOR_MAIN = join(import.meta.dir, "../services/compositor/main.ts");

/** A world for appd tests: RuntimeWorld plus an XDG_RUNTIME_DIR. */
export class AppdWorld extends RuntimeWorld {
  readonly runtimeDir = join(this.root, "run");

  constructor(options: ConstructorParameters<typeof RuntimeWorld>[0] = {}) {
    super(options);
    mkdirSync(this.runtimeDir, { mode: 0o700 });
    this.env.XDG_RUNTIME_DIR = this.runtimeDir;
  }

  /**
   * Starts the real weft-compositor on this world's bus (headless wlroots, pixman; test input on), as
   * `weft session` runs it, so non-headless launches get a window. Stopped by `close()`.
   */
  async startCompositor(): Promise<CompositorProcess> {
    const compositor = new CompositorProcess(this, join(this.root, "compositor-run"));
    this.#compositor = compositor;
    await compositor.serving();
    return compositor;
  }

  #compositor: CompositorProcess | undefined;

  override async close(): Promise<void> {
    await this.#compositor?.stop();
    await super.close();
  }

  /** Starts weft-appd and waits until it serves; `extraEnv` adds to the world's environment. */
  async startAppd(extraEnv: Record<string, string> = {}): Promise<AppdProcess> {
    const appd = new AppdProcess({ ...this.env, ...extraEnv }, this.supervisor);
    await appd.serving();
    return appd;
  }
}

/** weft-compositor (services/compositor/main.ts) on an AppdWorld's bus, with a client of its interfaces. */
export class CompositorProcess {
  readonly process: Bun.Subprocess<"ignore", "ignore", "pipe">;
  readonly log: Promise<string>;

  constructor(
    private readonly world: AppdWorld,
    runtimeDir: string,
  ) {
    mkdirSync(runtimeDir, { mode: 0o700, recursive: true });
    this.process = Bun.spawn([process.execPath, COMPOSITOR_MAIN], {
      env: { ...world.env, WLR_BACKENDS: "headless", WLR_RENDERER: "pixman", XDG_RUNTIME_DIR: runtimeDir, WAYLAND_DISPLAY: "", DISPLAY: "" },
      stdio: ["ignore", "ignore", "pipe"],
    }) as Bun.Subprocess<"ignore", "ignore", "pipe">;
    this.log = new Response(this.process.stderr).text();
  }

  async serving(): Promise<void> {
    const exited = this.process.exited.then(async (code): Promise<never> => {
      throw new Error(`weft-compositor exited ${code}: ${await this.log}`);
    });
    await this.world.supervisor.waitForOwner(Compositor.busName, { timeoutMs: 20_000, abandon: exited, timeoutMessage: "weft-compositor did not start" });
  }

  call(member: string, signature = "", body: unknown[] = [], iface = Compositor1.name): Promise<unknown[]> {
    return this.world.supervisor.call({ destination: Compositor.busName, path: Compositor.path, interface: iface, member, signature, body });
  }

  async listWindows(): Promise<WindowRow[]> {
    return windowRows(await this.world.supervisor.proxy(Compositor1, Compositor).call("ListWindows"));
  }

  async screenshot(): Promise<Pixels> {
    const [png] = (await this.call("Screenshot", "s", [""])) as [Uint8Array];
    return decodePng(png);
  }

  /** TestInput.Click at layout coordinates (x, y). */
  click(x: number, y: number): Promise<unknown[]> {
    return this.call("Click", "dd", [x, y], Compositor1TestInput.name);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      this.process.kill("SIGTERM");
      const timer = setTimeout(() => this.process.kill("SIGKILL"), 5_000);
      await this.process.exited;
      clearTimeout(timer);
    }
  }
}

/** A running weft-appd with its log (JSON lines) collected and a client of its manager interface. */
export class AppdProcess {
  readonly process: ReturnType<typeof Bun.spawn>;
  readonly logLines: any[] = [];
  readonly client: BusProxy<typeof AppD1>;

  constructor(env: Record<string, string>, connection: BusConnection) {
    this.process = Bun.spawn([process.execPath, MAIN], { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    this.client = connection.proxy(AppD1, AppD);
    void forEachLine(this.process.stderr as ReadableStream<Uint8Array>, (line) => {
      try {
        this.logLines.push(JSON.parse(line));
      } catch {
        this.logLines.push({ raw: line });
      }
    });
  }

  async serving(): Promise<void> {
    await until(() => this.logLines.some((l) => l.svc === "appd" && l.msg === "serving") || this.process.exitCode !== null, "appd serving", 30_000);
    if (this.process.exitCode !== null) throw new Error(`weft-appd exited with ${this.process.exitCode}: ${JSON.stringify(this.logLines)}`);
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number> {
    this.process.kill("SIGTERM");
    return this.process.exited;
  }
}


const SYSTEMD_CONTRACT = `<node>
  <interface name="org.freedesktop.systemd1.Manager">
    <method name="Subscribe"/>
    <method name="StartTransientUnit">
      <arg name="name" type="s" direction="in"/>
      <arg name="mode" type="s" direction="in"/>
      <arg name="properties" type="a(sv)" direction="in"/>
      <arg name="aux" type="a(sa(sv))" direction="in"/>
      <arg name="job" type="o" direction="out"/>
    </method>
    <method name="AttachProcessesToUnit">
      <arg name="name" type="s" direction="in"/>
      <arg name="subcgroup" type="s" direction="in"/>
      <arg name="pids" type="au" direction="in"/>
    </method>
    <method name="KillUnit">
      <arg name="name" type="s" direction="in"/>
      <arg name="whom" type="s" direction="in"/>
      <arg name="signal" type="i" direction="in"/>
    </method>
    <method name="GetUnit">
      <arg name="name" type="s" direction="in"/>
      <arg name="unit" type="o" direction="out"/>
    </method>
    <method name="ResetFailedUnit">
      <arg name="name" type="s" direction="in"/>
    </method>
    <signal name="JobRemoved">
      <arg name="id" type="u"/>
      <arg name="job" type="o"/>
      <arg name="unit" type="s"/>
      <arg name="result" type="s"/>
    </signal>
  </interface>
</node>`;

export interface TransientUnitCall {
  name: string;
  mode: string;
  properties: Record<string, unknown>;
  aux: unknown[];
}

const UNIT_CONTRACT = `<node>
  <interface name="org.freedesktop.systemd1.Unit">
    <property name="ActiveState" type="s" access="read"/>
  </interface>
</node>`;

const SCOPE_CONTRACT = `<node>
  <interface name="org.freedesktop.systemd1.Scope">
    <property name="Result" type="s" access="read"/>
  </interface>
</node>`;

export interface FakeSystemdOptions {
  /** The JobRemoved result of every StartTransientUnit ("done": the scope exists). */
  jobResult?: string;
  /** How every scope ends, as its Result reads once the session is over ("success", "oom-kill"). */
  scopeResult?: string;
}

/**
 * A stand-in for systemd's manager on a private bus: records StartTransientUnit, KillUnit, AttachProcessesToUnit
 * and ResetFailedUnit calls, and answers for each scope with a unit object whose ActiveState is already over
 * (inactive, or failed when its Result is not "success").
 */
export class FakeSystemd {
  readonly units: TransientUnitCall[] = [];
  readonly kills: [string, string, number][] = [];
  readonly attached: [string, number[]][] = [];
  readonly resets: string[] = [];
  #connection: BusConnection | undefined;

  static async start(address: string, options: FakeSystemdOptions = {}): Promise<FakeSystemd> {
    const fake = new FakeSystemd();
    const connection = (fake.#connection = await connectBus({ address }));
    const { jobResult = "done", scopeResult = "success" } = options;
    let jobs = 0;
    const unitPath = (name: string) => `/org/freedesktop/systemd1/unit/${name.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}`;
    const service = connection.exportService(SYSTEMD_CONTRACT, "/org/freedesktop/systemd1", {
      methods: {
        Subscribe: () => undefined,
        StartTransientUnit: ([name, mode, properties, aux]: [string, string, [string, { value: unknown }][], unknown[]]) => {
          fake.units.push({ name, mode, properties: Object.fromEntries(properties.map(([key, variant]) => [key, variant.value])), aux });
          connection.exportService(UNIT_CONTRACT, unitPath(name), { properties: { ActiveState: { get: () => (scopeResult === "success" ? "inactive" : "failed") } } });
          connection.exportService(SCOPE_CONTRACT, unitPath(name), { properties: { Result: { get: () => scopeResult } } });
          const id = ++jobs;
          const job = `/org/freedesktop/systemd1/job/${id}`;
          setTimeout(() => service.emit("JobRemoved", id, job, name, jobResult), 5); // after the reply, like systemd
          return job;
        },
        GetUnit: ([name]: [string]) => {
          if (!fake.units.some((unit) => unit.name === name)) throw busError("org.freedesktop.systemd1", "NoSuchUnit", `Unit ${name} not loaded.`);
          return unitPath(name);
        },
        ResetFailedUnit: ([name]: [string]) => {
          fake.resets.push(name);
        },
        AttachProcessesToUnit: ([name, , pids]: [string, string, number[]]) => {
          fake.attached.push([name, pids]);
        },
        KillUnit: ([name, whom, signal]: [string, string, number]) => {
          fake.kills.push([name, whom, signal]);
        },
      },
    });
    await connection.requestName("org.freedesktop.systemd1");
    return fake;
  }

  async close(): Promise<void> {
    await this.#connection?.close();
  }
}
