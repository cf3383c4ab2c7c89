/**
 * The scripted demo of the desktop. Everything goes through the real mesh the way a user's clicks would: the
 * compositor's input (TestInput, headless) clicks what the shell and the app pages show, at the places the
 * compositor's layout put their windows.
 *
 * `weft session --demo` (the README's main job) runs it on a mesh of its own:
 *   1. install the signed demo apps into a fresh store (private HOME, trust store with the demo key)
 *   2. bring up the mesh (compositor, file portal, appd, shell) on a private bus
 * `weft demo` runs it on the desktop that is already running on the user's bus (the VM's smoke test does).
 * Then, in both:
 *   3. open the launcher (its taskbar button) and start Counter by clicking its tile
 *   4. click + three times: the page shows 3, and the screenshot's pixels at the count changed with it
 *   5. start Notes, type a note, save it
 *   6. terminate Notes and launch it again: the note is there
 *
 * Each step writes a screenshot (`NN-<step>.png`) and its timing into `summary.json` under --out; the first step
 * that does not do what it should fails the demo (exit 1), after stopping the mesh it started.
 */

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connectBus, isBusError, type BusConnection, type BusProxy } from "../common/bus/index.ts";
import { createLogger } from "../common/daemon/log.ts";
import { appDataDir, type Env } from "../common/os/paths.ts";
import { decodePng, meanDifference, type Pixels } from "../common/image/png.ts";
import type { DemoArgs, SessionArgs } from "./main.ts";
import { Mesh, sessionServices } from "./mesh.ts";
import { AppD, AppD1, AppShell, AppShell1Inspect, Compositor, Compositor1, Compositor1TestInput, errorName, Shell, Shell1, windowRows } from "../../protocol/dbus/index.ts";
import { assertAppId } from "../../protocol/app-id.ts";

const REPO = resolve(import.meta.dir, "../..");
const COUNTER = assertAppId("org.weft.demo.counter");
const NOTES = assertAppId("org.weft.demo.notes");
const NOTE_TEXT = "Hello from the WEFT demo";

/** Selectors the shell's system UI and the demo apps promise (docs/shell.md, apps/*\/ui). */
export const SELECT = {
  launcherButton: "#launcher-button",
  openLauncher: "#launcher:not([hidden])",
  tile: (appId: string) => `[data-app-id="${appId}"]`,
  sessionEntry: (id: bigint) => `[data-session-id="${id}"]`,
  closeSession: (id: bigint) => `[data-session-id="${id}"] button.terminate`,
  increment: "#increment",
  count: "#count",
  editor: "#editor",
  save: "#save",
  status: "#status",
};

interface StepRecord {
  name: string;
  ms: number;
  screenshot?: string;
  detail?: string;
}

type Rect = { x: number; y: number; width: number; height: number };

interface DemoOptions {
  /** Whose app data the demo reads Notes' file from (the mesh's HOME, or the user's). */
  dataEnv: Env;
  /** Every deadline is multiplied by this (a slow machine: the VM under emulation). */
  patience: number;
}

class Demo {
  readonly steps: StepRecord[] = [];
  #shotCount = 0;

  readonly compositor: BusProxy<typeof Compositor1>;
  readonly input: BusProxy<typeof Compositor1TestInput>;
  readonly appd: BusProxy<typeof AppD1>;
  readonly shell: BusProxy<typeof Shell1>;

  constructor(
    readonly bus: BusConnection,
    readonly outDir: string,
    readonly options: DemoOptions,
  ) {
    this.compositor = bus.proxy(Compositor1, Compositor);
    this.input = bus.proxy(Compositor1TestInput, Compositor);
    this.appd = bus.proxy(AppD1, AppD);
    this.shell = bus.proxy(Shell1, Shell);
  }

  /** A session's app-shell Inspect interface (it exists because the mesh runs with WEFT_APP_SHELL_INSPECT=1). */
  appShell(session: bigint): BusProxy<typeof AppShell1Inspect> {
    return this.bus.proxy(AppShell1Inspect, AppShell.of(session));
  }

  async step(name: string, body: () => Promise<string | void>): Promise<void> {
    const started = performance.now();
    try {
      const detail = (await body()) ?? undefined;
      const ms = performance.now() - started;
      const screenshot = this.save(name, await this.settled());
      this.steps.push({ name, ms, screenshot, detail });
      console.log(`  ok  ${name.padEnd(60)} ${ms.toFixed(0).padStart(6)} ms`);
    } catch (error) {
      const screenshot = await this.png().then((png) => this.save(`FAILED ${name}`, png), () => undefined);
      this.steps.push({ name, ms: performance.now() - started, screenshot, detail: `FAILED: ${(error as Error).message}` });
      console.log(`  FAIL ${name}: ${(error as Error).message}`);
      throw error;
    }
  }

  /** The first output as the compositor composes it now (PNG). */
  async png(): Promise<Uint8Array> {
    const png = await this.compositor.call("Screenshot", "");
    return png;
  }

  /** Writes `png` as the next numbered screenshot named after `name`; returns the file name. */
  save(name: string, png: Uint8Array): string {
    const file = `${String(++this.#shotCount).padStart(2, "0")}-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 48)}.png`;
    writeFileSync(join(this.outDir, file), png);
    return file;
  }

  /**
   * Waits until two screenshots 100 ms apart are the same (at most 3 s): a page's DOM can be ahead of the frame
   * the compositor last got, and the step's screenshot should show what the step checked. Returns that PNG.
   */
  async settled(): Promise<Uint8Array> {
    const deadline = Date.now() + 3_000 * this.options.patience;
    // The encoding is deterministic: the same pixels give the same PNG bytes.
    let previous = await this.png();
    while (Date.now() < deadline) {
      await Bun.sleep(100);
      const next = await this.png();
      if (Buffer.from(next).equals(Buffer.from(previous))) return next;
      previous = next;
    }
    return previous;
  }

  async pixels(): Promise<Pixels> {
    return decodePng(await this.png());
  }

  /** Polls `check` until it returns a value (not undefined) or the deadline (times the patience) passes. */
  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    timeoutMs *= this.options.patience;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
      await Bun.sleep(50);
    }
  }

  async windowOf(session: bigint, role = "application"): Promise<Rect> {
    const row = windowRows(await this.compositor.call("ListWindows")).find((w) => w.session === session && w.role === role);
    if (row === undefined) throw new Error(`session ${session} has no ${role} window`);
    return { x: row.x, y: row.y, width: row.width, height: row.height };
  }

  /** Clicks the centre of `rect` (window coordinates) of the window at `origin`, through the compositor's input. */
  async click(origin: Rect, rect: Rect): Promise<void> {
    await this.input.call("Click", origin.x + rect.x + rect.width / 2, origin.y + rect.y + rect.height / 2);
  }

  async shellRect(selector: string): Promise<Rect> {
    const [x, y, width, height] = await this.shell.call("ElementRect", selector);
    return { x, y, width, height };
  }

  async appRect(session: bigint, selector: string): Promise<Rect> {
    const [x, y, width, height] = await this.appShell(session).call("ElementRect", selector);
    return { x, y, width, height };
  }

  async appText(session: bigint, selector: string): Promise<string> {
    const text = await this.appShell(session).call("ElementText", selector);
    return text;
  }

  /** Opens the launcher with its taskbar button and clicks `appId`'s tile; resolves with the new session's id. */
  async launchFromLauncher(appId: string): Promise<bigint> {
    const before = new Set(await this.liveSessions(appId));
    const shellWindow = await this.windowOf(0n, "shell");
    await this.click(shellWindow, await this.shellRect(SELECT.launcherButton));
    // Opening the launcher goes home: wait until the launcher shows and no app window covers it any more.
    await this.until("the launcher open", () => this.shellRect(SELECT.openLauncher).then((r) => (r.width > 0 ? r : undefined)));
    await this.until("home (the shell focused)", async () => {
      return windowRows(await this.compositor.call("ListWindows")).some((w) => w.role === "shell" && w.focused) ? true : undefined;
    });
    const tile = await this.until(`the ${appId} tile`, () => this.shellRect(SELECT.tile(appId)).then((r) => (r.width > 0 ? r : undefined)));
    await this.click(shellWindow, tile);
    const session = await this.until(`a ${appId} session`, async () => (await this.liveSessions(appId)).find((id) => !before.has(id)));
    await this.until(`the ${appId} session running`, async () => ((await this.sessionState(session)) === "running" ? true : undefined), 60_000);
    await this.until(`the ${appId} window`, () => this.windowOf(session).catch(() => undefined), 60_000);
    return session;
  }

  async liveSessions(appId: string): Promise<bigint[]> {
    const rows = await this.appd.call("ListSessions");
    return rows.filter(([, app, state]) => app === appId && state !== "stopped").map(([id]) => id);
  }

  async sessionState(session: bigint): Promise<string | undefined> {
    const rows = await this.appd.call("ListSessions");
    return rows.find(([id]) => id === session)?.[2];
  }
}

/** Trusts the demo key in `home` and installs the signed demo apps there with weft-pack. */
export async function installDemoApps(home: string, sysconf: string): Promise<string> {
  mkdirSync(join(home, ".config/weft/trusted.d"), { recursive: true });
  cpSync(join(REPO, "apps/keys/weft-sign.pub"), join(home, ".config/weft/trusted.d/weft-demo.pub"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, WEFT_SYSCONFDIR: sysconf };
  const lines: string[] = [];
  for (const appId of [COUNTER, NOTES]) {
    const child = Bun.spawn([process.execPath, join(REPO, "services/pack/main.ts"), "install", join(REPO, "apps/dist", appId)], { env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) throw new Error(`weft-pack install ${appId} exited ${code}: ${stdout}${stderr}`);
    lines.push(stdout.trim().split("\n")[0] ?? "");
  }
  return lines.join("; ");
}

/** The demo's steps on the desktop `d` drives, from the shell's home screen to Notes showing its saved note. */
async function demoSteps(d: Demo): Promise<void> {
  await d.step("the shell is up (home screen)", async () => {
    const shell = await d.until("the shell's window", () => d.windowOf(0n, "shell").catch(() => undefined), 60_000);
    await d.until("the launcher button", () => d.shellRect(SELECT.launcherButton).then((r) => (r.width > 0 ? r : undefined)));
    return `shell window ${shell.width}x${shell.height}`;
  });

  let counter = 0n;
  await d.step("open the launcher and start Counter by clicking its tile", async () => {
    counter = await d.launchFromLauncher(COUNTER);
    await d.until("the counter page connected", async () => ((await d.appText(counter, SELECT.count)) === "0" ? true : undefined));
    return `session ${counter}`;
  });

  await d.step("click + three times: the page shows 3", async () => {
    const window = await d.windowOf(counter);
    const countBox = await d.appRect(counter, SELECT.count);
    const screenBox = { x: window.x + countBox.x, y: window.y + countBox.y, width: countBox.width, height: countBox.height };
    const before = await d.pixels();
    for (let i = 1; i <= 3; i++) {
      await d.click(window, await d.appRect(counter, SELECT.increment));
      await d.until(`the count at ${i}`, async () => ((await d.appText(counter, SELECT.count)) === String(i) ? true : undefined));
    }
    // The screen shows it too: the count's box on screen changed from the 0 it showed before.
    const after = await d.until("the count redrawn on screen", async () => {
      const shot = await d.pixels();
      return meanDifference(before, shot, screenBox) > 2 ? shot : undefined;
    });
    return `page: ${await d.appText(counter, SELECT.count)}; count box on screen changed by ${meanDifference(before, after, screenBox).toFixed(1)}`;
  });

  let notes = 0n;
  let emptyEditor: Pixels | undefined;
  await d.step("start Notes from the launcher", async () => {
    notes = await d.launchFromLauncher(NOTES);
    await d.until("the notes page connected", async () => ((await d.appText(notes, SELECT.status)) === "" ? true : undefined));
    emptyEditor = decodePng(await d.settled());
    return `session ${notes}`;
  });

  await d.step("type a note and save it", async () => {
    const window = await d.windowOf(notes);
    await d.click(window, await d.appRect(notes, SELECT.editor));
    await d.input.call("TypeText", NOTE_TEXT);
    await d.until("the typed text in the editor", async () => ((await d.appText(notes, SELECT.editor)) === NOTE_TEXT ? true : undefined));
    await d.click(window, await d.appRect(notes, SELECT.save));
    const file = notesFile(d.options.dataEnv);
    await d.until("the note on disk", async () => (readFileOr(file) === NOTE_TEXT ? true : undefined));
    return `saved to ${file}`;
  });

  await d.step("terminate Notes with its close button in the taskbar", async () => {
    // As a user does: the shell terminates it (appd takes Terminate only from a session's launcher and the shell).
    const shellWindow = await d.windowOf(0n, "shell");
    const close = await d.until("Notes' close button", () => d.shellRect(SELECT.closeSession(notes)).then((r) => (r.width > 0 ? r : undefined)));
    await d.click(shellWindow, close);
    await d.until("the notes session stopped", async () => ((await d.sessionState(notes)) === "stopped" || (await d.sessionState(notes)) === undefined ? true : undefined));
    await d.until("its window gone", async () => ((await d.windowOf(notes).catch(() => undefined)) === undefined ? true : undefined));
    return `session ${notes} stopped`;
  });

  await d.step("launch Notes again: the note is there", async () => {
    const again = await d.launchFromLauncher(NOTES);
    await d.until("the saved note loaded", async () => ((await d.appText(again, SELECT.editor)) === NOTE_TEXT ? true : undefined));
    // On screen too: the editor's box differs from the empty editor the first Notes showed.
    const window = await d.windowOf(again);
    const editor = await d.appRect(again, SELECT.editor);
    const box = { x: window.x + editor.x, y: window.y + editor.y, width: editor.width, height: Math.min(editor.height, 80) };
    const shown = await d.until("the note drawn on screen", async () => {
      const shot = await d.pixels();
      return meanDifference(emptyEditor!, shot, box) > 1 ? shot : undefined;
    });
    return `session ${again} shows ${JSON.stringify(NOTE_TEXT)} (page and screen: editor box changed by ${meanDifference(emptyEditor!, shown, box).toFixed(1)})`;
  });
}

function notesFile(env: Env): string {
  return join(appDataDir(NOTES, env), "notes.txt");
}

function defaultOutDir(kind: string): string {
  return join(REPO, "out", `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

/** Writes summary.json and prints the outcome; returns the exit code. */
function finish(outDir: string, ok: boolean, started: number, timings: Record<string, number>, steps: StepRecord[], logHint: string): number {
  const totalMs = performance.now() - started;
  writeFileSync(join(outDir, "summary.json"), JSON.stringify({ ok, outDir, totalMs, timings, steps }, null, 2));
  console.log(ok ? `\nall ${steps.length} steps passed in ${(totalMs / 1000).toFixed(1)} s` : `\nthe demo failed; see ${logHint}`);
  console.log(`screenshots and summary.json: ${outDir}`);
  return ok ? 0 : 1;
}

/** `weft session --demo`: a fresh store and a mesh of its own on a private bus, stopped at the end. */
export async function runDemo(args: SessionArgs): Promise<number> {
  const outDir = resolve(args.out ?? defaultOutDir("session-demo"));
  const home = join(outDir, "home");
  const sysconf = join(outDir, "etc");
  mkdirSync(home, { recursive: true });
  const runtimeDir = mkdtempSync(join(tmpdir(), "weft-demo-xdg-"));
  const serviceLog = join(outDir, "services.log");
  writeFileSync(serviceLog, "");
  const started = performance.now();
  const timings: Record<string, number> = {};
  let ok = false;
  let mesh: Mesh | undefined;
  let demo: Demo | undefined;
  console.log(`WEFT demo session → ${outDir}\n`);
  try {
    const installStarted = performance.now();
    const installed = await installDemoApps(home, sysconf);
    timings.install = performance.now() - installStarted;
    console.log(`  ok  ${"install the signed demo apps into a fresh store".padEnd(60)} ${timings.install.toFixed(0).padStart(6)} ms`);

    const meshStarted = performance.now();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      XDG_RUNTIME_DIR: runtimeDir,
      WEFT_SYSCONFDIR: sysconf,
      LANG: process.env.LANG ?? "C.UTF-8",
      // The demo reads page text and element boxes to click; these exist only when asked for (docs/shell.md, app-shell.md).
      WEFT_SHELL_INSPECT: "1",
      WEFT_APP_SHELL_INSPECT: "1",
    };
    mesh = await Mesh.start({
      services: sessionServices("headless"),
      env,
      log: createLogger("demo", { level: "warn" }),
      onLogLine: (service, line) => writeFileSync(serviceLog, `${service}: ${line}\n`, { flag: "a" }),
    });
    timings.mesh = performance.now() - meshStarted;
    demo = new Demo(mesh.bus, outDir, { dataEnv: { HOME: home }, patience: 1 });
    demo.steps.push({ name: "install the signed demo apps into a fresh store", ms: timings.install, detail: installed });
    demo.steps.push({ name: "bring up the mesh on a private bus", ms: timings.mesh, detail: mesh.running.map((s) => s.spec.name).join(", ") });
    console.log(`  ok  ${"bring up the mesh on a private bus".padEnd(60)} ${timings.mesh.toFixed(0).padStart(6)} ms`);
    await demoSteps(demo);
    ok = true;
  } catch (error) {
    if (demo === undefined) console.log(`  FAIL ${(error as Error).message}`);
  } finally {
    await mesh?.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  }
  return finish(outDir, ok, started, timings, [...(demo?.steps ?? [])], serviceLog);
}

/**
 * Why the running desktop cannot be demonstrated as it is, or undefined when it can: the demo needs the
 * compositor's test input, the shell's and app-shells' inspection, both demo apps, and a Notes with no saved note
 * (it types into an empty one, and never touches a user's note).
 */
async function desktopProblem(bus: BusConnection, env: Env): Promise<string | undefined> {
  for (const name of [Compositor.busName, AppD.busName, Shell.busName]) {
    if (!(await bus.nameHasOwner(name))) return `${name} is not on the bus: start the desktop first (systemctl --user start weft-session.target, or weft session)`;
  }
  const introspect = async (destination: string, path: string) =>
    ((await bus.call({ destination, path, interface: "org.freedesktop.DBus.Introspectable", member: "Introspect" })) as [string])[0];
  if (!(await introspect(Compositor.busName, Compositor.path)).includes(Compositor1TestInput.name)) {
    return `the compositor has no test input (${Compositor1TestInput.name}): the demo clicks through it, which a headless compositor offers`;
  }
  try {
    await bus.proxy(Shell1, Shell).call("ElementText", "body");
  } catch (error) {
    if (isBusError(error, errorName(Shell1, "NotEnabled"))) {
      return "the shell does not allow inspection: start weft-shell with WEFT_SHELL_INSPECT=1 (and appd with WEFT_APP_SHELL_INSPECT=1)";
    }
  }
  const installed = await bus.proxy(AppD1, AppD).call("ListInstalledApps");
  for (const appId of [COUNTER, NOTES]) {
    if (!installed.some(([id]) => id === appId)) return `${appId} is not installed: install it with weft-pack install apps/dist/${appId}`;
  }
  if (existsSync(notesFile(env))) return `${notesFile(env)} already holds a note: the demo types into an empty Notes, so move that file away first`;
  return undefined;
}

/** `weft demo`: the same steps on the desktop already running on the user's bus. */
export async function runDemoOnDesktop(args: DemoArgs): Promise<number> {
  const outDir = resolve(args.out ?? defaultOutDir("desktop-demo"));
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  let ok = false;
  let demo: Demo | undefined;
  let bus: BusConnection | undefined;
  console.log(`WEFT demo on the running desktop → ${outDir}\n`);
  try {
    bus = await connectBus({ logger: createLogger("demo", { level: "warn" }) });
    const problem = await desktopProblem(bus, process.env);
    if (problem !== undefined) throw new Error(problem);
    demo = new Demo(bus, outDir, { dataEnv: process.env, patience: args.patience });
    await demoSteps(demo);
    ok = true;
  } catch (error) {
    if (demo === undefined) console.log(`  FAIL ${(error as Error).message}`);
  } finally {
    await bus?.close();
  }
  return finish(outDir, ok, started, {}, [...(demo?.steps ?? [])], "the services' logs (journalctl --user -u 'weft-*')");
}

function readFileOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
