/**
 * Test world for weft-shell: one private bus (AppdWorld's, with the demo apps installed) carrying the real
 * weft-compositor (headless, pixman, test input), the real weft-appd and the real weft-shell (with
 * WEFT_SHELL_INSPECT=1), plus helpers to read the shell's page (Shell1.ElementRect/ElementText) and click it
 * through the compositor's TestInput.
 */

import { join } from "node:path";
import { readFileSync } from "node:fs";
import type { BusConnection } from "../services/common/bus/index.ts";
import { forEachLine } from "../services/common/os/lines.ts";
import { AppdWorld, type AppdProcess } from "./appd.ts";
import { DEMO_DIST } from "./runtime.ts";
import { AppD, AppD1, Compositor, Compositor1, Compositor1TestInput, Shell, Shell1, type WindowRow, windowRows } from "../protocol/dbus/index.ts";
import { until } from "./until.ts";

const COMPOSITOR_MAIN = join(import.meta.dir, "../services/compositor/main.ts");
const SHELL_MAIN = join(import.meta.dir, "../services/shell/main.ts");

export const COUNTER = "org.weft.demo.counter";
export const NOTES = "org.weft.demo.notes";

/** Waits for something on the shell's page or bus that may not be there yet: a read that throws means "not yet". */
export function untilShown<T>(read: () => T | undefined | false | null | Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000): Promise<T> {
  return until(read, what, timeoutMs, { retryErrors: true });
}

export interface ShellProcess {
  process: Bun.Subprocess<"ignore", "ignore", "pipe">;
  logLines: Record<string, unknown>[];
}

/** Children and command lines of processes: one reader of /proc for everyone (services/common/os/processes.ts). */
export { childrenOf, processesNaming as processesMentioning } from "../services/common/os/processes.ts";

/** The profile directory of a Chromium process (its --user-data-dir): every process of that browser names it. */
export function profileDirOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const flag = args.find((arg) => arg.startsWith("--user-data-dir="));
  if (flag === undefined) throw new Error(`process ${pid} has no --user-data-dir`);
  return flag.slice("--user-data-dir=".length);
}

export class ShellWorld {
  readonly appdWorld = new AppdWorld();
  compositor!: Bun.Subprocess<"ignore", "ignore", "pipe">;
  compositorLog!: Promise<string>;
  appd!: AppdProcess;
  shells: ShellProcess[] = [];
  readonly clients: Bun.Subprocess[] = [];

  get client(): BusConnection {
    return this.appdWorld.supervisor;
  }

  get env(): Record<string, string> {
    return this.appdWorld.env;
  }

  static async start(): Promise<ShellWorld> {
    const world = new ShellWorld();
    try {
      await world.appdWorld.start();
      await world.appdWorld.install(join(DEMO_DIST, COUNTER));
      await world.appdWorld.install(join(DEMO_DIST, NOTES), { acceptCapabilities: true });
      world.compositor = Bun.spawn([process.execPath, COMPOSITOR_MAIN], {
        env: { ...world.env, WLR_BACKENDS: "headless", WLR_RENDERER: "pixman", WAYLAND_DISPLAY: "", DISPLAY: "" },
        stdio: ["ignore", "ignore", "pipe"],
      }) as Bun.Subprocess<"ignore", "ignore", "pipe">;
      world.compositorLog = new Response(world.compositor.stderr).text();
      await untilShown(async () => ((await world.client.nameHasOwner(Compositor.busName)) ? true : undefined), "the compositor on the bus", 20_000);
      world.appd = await world.appdWorld.startAppd();
      return world;
    } catch (error) {
      await world.close();
      throw error;
    }
  }

  /** Starts weft-shell (inspection on unless `env` says otherwise) and waits until it owns org.weft.Shell1. */
  async startShell(env: Record<string, string> = {}): Promise<ShellProcess> {
    const process_ = Bun.spawn([process.execPath, SHELL_MAIN], {
      env: { ...this.env, WEFT_SHELL_INSPECT: "1", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    }) as Bun.Subprocess<"ignore", "ignore", "pipe">;
    const shell: ShellProcess = { process: process_, logLines: [] };
    void forEachLine(process_.stderr, (line) => {
      try {
        shell.logLines.push(JSON.parse(line));
      } catch {
        shell.logLines.push({ raw: line });
      }
    });
    this.shells.push(shell);
    await until(async () => {
      if (process_.exitCode !== null) throw new Error(`weft-shell exited ${process_.exitCode}: ${JSON.stringify(shell.logLines)}`);
      return (await this.client.nameHasOwner(Shell.busName)) ? true : undefined;
    }, "weft-shell to own org.weft.Shell1", 60_000).catch((error) => {
      throw new Error(`${(error as Error).message}; log: ${JSON.stringify(shell.logLines).slice(0, 4000)}`);
    });
    return shell;
  }

  call(destination: string, iface: string, member: string, signature = "", body: unknown[] = [], timeoutMs?: number): Promise<unknown[]> {
    const path = `/${destination.replaceAll(".", "/")}`;
    return this.client.call({ destination, path, interface: iface, member, signature, body }, timeoutMs ? { timeoutMs } : {});
  }

  shell(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.call(Shell.busName, Shell1.name, member, signature, body);
  }

  compositorCall(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.call(Compositor.busName, Compositor1.name, member, signature, body);
  }

  testInput(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.client.call({ destination: Compositor.busName, path: Compositor.path, interface: Compositor1TestInput.name, member, signature, body });
  }

  appdCall(member: string, signature = "", body: unknown[] = [], timeoutMs = 60_000): Promise<unknown[]> {
    return this.call(AppD.busName, AppD1.name, member, signature, body, timeoutMs);
  }

  async elementRect(selector: string): Promise<[number, number, number, number]> {
    return (await this.shell("ElementRect", "s", [selector])) as [number, number, number, number];
  }

  async elementText(selector: string): Promise<string> {
    const [text] = await this.shell("ElementText", "s", [selector]);
    return text as string;
  }

  /** Waits for an element to exist (and have a box), then clicks its centre through the compositor's TestInput. */
  async click(selector: string): Promise<void> {
    const [x, y, width, height] = await untilShown(async () => {
      const rect = await this.elementRect(selector);
      return rect[2] > 0 && rect[3] > 0 ? rect : undefined;
    }, `${selector} on the shell's page`);
    await this.testInput("Click", "dd", [x + width / 2, y + height / 2]);
  }

  async listWindows(): Promise<WindowRow[]> {
    return windowRows(await this.client.proxy(Compositor1, Compositor).call("ListWindows"));
  }

  waitForWindows(predicate: (windows: WindowRow[]) => boolean, what: string): Promise<WindowRow[]> {
    return untilShown(async () => {
      const windows = await this.listWindows();
      return predicate(windows) ? windows : undefined;
    }, what);
  }

  /** A real Wayland client as an app window of `session` (application role), on a connection from OpenClient. */
  async spawnAppClient(argv: string[], session: bigint): Promise<Bun.Subprocess> {
    const [fd] = (await this.compositorCall("OpenClient", "st", ["application", session])) as [number];
    const child = Bun.spawn(argv, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", XDG_RUNTIME_DIR: this.appdWorld.runtimeDir, WAYLAND_SOCKET: "3" },
      stdio: ["ignore", "ignore", "ignore", fd],
    });
    const { closeFd } = await import("../services/common/bus/index.ts");
    closeFd(fd);
    this.clients.push(child);
    return child;
  }

  async close(): Promise<void> {
    for (const client of this.clients) {
      if (client.exitCode === null && client.signalCode === null) client.kill("SIGKILL");
      await client.exited;
    }
    for (const shell of this.shells) {
      if (shell.process.exitCode === null && shell.process.signalCode === null) {
        shell.process.kill("SIGTERM");
        const timer = setTimeout(() => shell.process.kill("SIGKILL"), 10_000);
        await shell.process.exited;
        clearTimeout(timer);
      }
    }
    if (this.appd !== undefined && this.appd.process.exitCode === null) await this.appd.stop();
    if (this.compositor !== undefined && this.compositor.exitCode === null) {
      this.compositor.kill("SIGTERM");
      await this.compositor.exited;
    }
    await this.appdWorld.close();
  }
}
