/**
 * Test world for the compositor: the real weft-compositor service (main.ts, headless wlroots, pixman) on a
 * private dbus-daemon, plus helpers to start real Wayland clients (Debian's wayland-info, weston-simple-shm,
 * weston-terminal, wl-clipboard, our protocol test client) on connections handed out by OpenClient, wait for
 * signals, and read screenshots back as pixels.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, connectBus, type BusConnection } from "../services/common/bus/index.ts";
import { startPrivateBus, type PrivateBus } from "./bus.ts";

export type { WindowRow } from "../protocol/dbus/index.ts";
import { decodePng, type Pixels } from "../services/common/image/png.ts";
import { Compositor, Compositor1, Compositor1TestInput, Shell, type WindowRow, windowRows } from "../protocol/dbus/index.ts";

export interface CompositorWorldOptions {
  /** Extra environment for the service (WEFT_COMPOSITOR_TEST_INPUT, WEFT_COMPOSITOR_LOG, …). */
  env?: Record<string, string>;
  /** A Wayland connection for a nested backend (WLR_BACKENDS=wayland): given to the service as fd 3, WAYLAND_SOCKET=3. */
  waylandSocket?: number;
  /** Whether the test's connection plays the shell, owning org.weft.Shell1.Role (default true): shell connections,
   *  screenshots and the clipboard are the shell's (interface.ts). */
  asShell?: boolean;
}


export interface SpawnedClient {
  process: Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">;
  /** stdout and stderr, complete once the process exited. */
  output: Promise<{ stdout: string; stderr: string }>;
  kill(): Promise<void>;
}

export class CompositorWorld {
  readonly #cleanup: (() => Promise<void> | void)[] = [];
  readonly clients: SpawnedClient[] = [];

  private constructor(
    readonly bus: PrivateBus,
    readonly client: BusConnection,
    readonly service: Bun.Subprocess<"ignore", "ignore", "pipe">,
    readonly serviceLog: Promise<string>,
    readonly runtimeDir: string,
  ) {}

  static async start(options: CompositorWorldOptions = {}): Promise<CompositorWorld> {
    const bus = await startPrivateBus();
    let client: BusConnection | undefined;
    let service: Bun.Subprocess<"ignore", "ignore", "pipe"> | undefined;
    const runtimeDir = mkdtempSync(join(tmpdir(), "weft-compositor-xdg-"));
    try {
      client = await connectBus({ address: bus.address });
      if (options.asShell ?? true) await client.requestName(Shell.roleName);
      service = Bun.spawn([process.execPath, join(import.meta.dir, "../services/compositor/main.ts")], {
        env: {
          ...process.env,
          WEFT_BUS_ADDRESS: bus.address,
          WLR_BACKENDS: "headless",
          WLR_RENDERER: "pixman",
          XDG_RUNTIME_DIR: runtimeDir,
          WAYLAND_DISPLAY: "",
          DISPLAY: "",
          ...options.env,
          ...(options.waylandSocket !== undefined ? { WAYLAND_SOCKET: "3" } : {}),
        },
        stdio: ["ignore", "ignore", "pipe", ...(options.waylandSocket !== undefined ? [options.waylandSocket] : [])],
      }) as Bun.Subprocess<"ignore", "ignore", "pipe">;
      const world = new CompositorWorld(bus, client, service, new Response(service.stderr).text(), runtimeDir);
      await world.#waitForName(15_000);
      return world;
    } catch (error) {
      service?.kill("SIGKILL");
      await service?.exited;
      client?.close();
      await bus.close();
      rmSync(runtimeDir, { recursive: true, force: true });
      throw error;
    }
  }

  async #waitForName(timeoutMs: number): Promise<void> {
    const exited = this.service.exited.then(async (code): Promise<never> => {
      throw new Error(`weft-compositor exited ${code}: ${await this.serviceLog}`);
    });
    await this.client.waitForOwner(Compositor.busName, {
      timeoutMs,
      abandon: exited,
      timeoutMessage: `weft-compositor did not own ${Compositor.busName} in ${timeoutMs} ms`,
    });
  }

  call(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.client.call({ destination: Compositor.busName, path: Compositor.path, interface: Compositor1.name, member, signature, body });
  }

  /** Calls `member` on another interface of the compositor's object (the test input interface, …). */
  callInterface(iface: string, member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.client.call({ destination: Compositor.busName, path: Compositor.path, interface: iface, member, signature, body });
  }

  /** Calls `member` of org.weft.Compositor1.TestInput (exported when test input is on: test-input.ts). */
  testInput(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.callInterface(Compositor1TestInput.name, member, signature, body);
  }

  async openClient(role: "shell" | "application", sessionId: bigint): Promise<number> {
    const [fd] = (await this.call("OpenClient", "st", [role, sessionId])) as [number];
    return fd;
  }

  /**
   * Starts `argv` as a Wayland client of session `sessionId` with `role`: the connection is the child's fd 3
   * (WAYLAND_SOCKET=3). The world kills it at close if it still runs.
   */
  async spawnClient(
    argv: string[],
    role: "shell" | "application",
    sessionId: bigint,
    options: { env?: Record<string, string>; stdin?: "ignore" | "pipe"; cwd?: string } = {},
  ): Promise<SpawnedClient> {
    const fd = await this.openClient(role, sessionId);
    const child = Bun.spawn(argv, {
      env: { ...process.env, XDG_RUNTIME_DIR: this.runtimeDir, WAYLAND_SOCKET: "3", WAYLAND_DISPLAY: "", DISPLAY: "", ...options.env },
      stdio: [options.stdin ?? "ignore", "pipe", "pipe", fd],
      cwd: options.cwd,
    }) as Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">;
    closeFd(fd); // the child holds it; ours would keep the connection up after the child is gone
    const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]).then(([stdout, stderr]) => ({
      stdout,
      stderr,
    }));
    const spawned: SpawnedClient = {
      process: child,
      output,
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await child.exited;
      },
    };
    this.clients.push(spawned);
    return spawned;
  }

  async listWindows(): Promise<WindowRow[]> {
    return windowRows(await this.client.proxy(Compositor1, Compositor).call("ListWindows"));
  }

  /** Polls ListWindows until `predicate` holds (the compositor's own answers; no fixed sleeps). */
  async waitForWindows(predicate: (windows: WindowRow[]) => boolean, what: string, timeoutMs = 20_000): Promise<WindowRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const windows = await this.listWindows();
      if (predicate(windows)) return windows;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; windows: ${JSON.stringify(windows, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      await Bun.sleep(25);
    }
  }

  /** Subscribes to a Compositor1 signal, collecting bodies; `next(predicate)` waits for a matching one. */
  async collectSignals(member: string): Promise<{ received: unknown[][]; next(predicate?: (body: unknown[]) => boolean, timeoutMs?: number): Promise<unknown[]>; stop(): Promise<void> }> {
    const received: unknown[][] = [];
    const waiters: { predicate: (body: unknown[]) => boolean; resolve: (body: unknown[]) => void }[] = [];
    const subscription = await this.client.subscribeSignal({ interface: Compositor1.name, path: Compositor.path, member }, (body) => {
      received.push(body);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(body)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(body);
        }
      }
    });
    return {
      received,
      next: (predicate = () => true, timeoutMs = 20_000) => {
        const already = received.find(predicate);
        if (already) return Promise.resolve(already);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${member} signal matched in ${timeoutMs} ms; got ${received.length}`)), timeoutMs);
          waiters.push({ predicate, resolve: (body) => (clearTimeout(timer), resolve(body)) });
        });
      },
      stop: () => subscription.close(),
    };
  }

  /** Compositor1.Screenshot, decoded. */
  async screenshot(output = ""): Promise<Pixels> {
    const [png] = (await this.call("Screenshot", "s", [output])) as [Uint8Array];
    return decodePng(png);
  }

  defer(fn: () => Promise<void> | void): void {
    this.#cleanup.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.#cleanup.reverse()) await fn();
    for (const spawned of this.clients) await spawned.kill();
    if (this.service.exitCode === null) {
      this.service.kill("SIGKILL");
      await this.service.exited;
    }
    this.client.close();
    await this.bus.close();
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
