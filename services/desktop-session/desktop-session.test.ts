/**
 * `weft session` as a user runs it: the real services come up in order on a private bus, and Ctrl-C (SIGINT)
 * stops every one of them; a service that dies takes the session down with exit 1; bad arguments are usage errors.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus } from "../common/bus/index.ts";
import { chooseBackend, sessionServices } from "./mesh.ts";
import { parseDemoArgs, parseSessionArgs } from "./main.ts";
import { startPrivateBus } from "../common/bus/private-bus.ts";
import { installDemoApps } from "./demo.ts";
import { Variant } from "dbus-next";
import { AppD, AppD1, Compositor, Shell } from "../../protocol/dbus/index.ts";

const MAIN = join(import.meta.dir, "main.ts");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `weft` to its end with a private HOME. */
async function runWeft(argv: string[], env: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), "weft-cli-home-"));
  dirs.push(home);
  const child = Bun.spawn([process.execPath, MAIN, ...argv], { env: { PATH: process.env.PATH!, HOME: home, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/** Starts `weft session` with a private HOME; resolves once it logged "session up" with the bus address. */
async function startSession(extraEnv: Record<string, string> = {}, withApps = false) {
  const home = mkdtempSync(join(tmpdir(), "weft-session-home-"));
  const runtime = mkdtempSync(join(tmpdir(), "weft-session-xdg-"));
  dirs.push(home, runtime);
  if (withApps) await installDemoApps(home, join(home, "etc"));
  extraEnv = { WEFT_SYSCONFDIR: join(home, "etc"), ...extraEnv };
  const child = Bun.spawn([process.execPath, MAIN, "session", "--backend", "headless"], {
    env: { PATH: process.env.PATH!, HOME: home, XDG_RUNTIME_DIR: runtime, WEFT_LOG_LEVEL: "info", ...extraEnv },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let log = "";
  const reader = (child.stderr as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 90_000;
  let address: string | undefined;
  while (address === undefined) {
    if (Date.now() > deadline) throw new Error(`no "session up" line: ${log}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`weft session exited early: ${log}`);
    log += decoder.decode(value, { stream: true });
    address = /msg="session up[^\n]*bus=("[^"]+"|\S+)/.exec(log)?.[1]?.replace(/^"|"$/g, "");
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return log;
      log += decoder.decode(value, { stream: true });
    }
  })();
  return { child, address, log: () => rest };
}

test("the mesh comes up in order on a private bus and Ctrl-C stops every service", async () => {
  const session = await startSession();
  const bus = await connectBus({ address: session.address });
  const names = sessionServices("headless").map((s) => s.busName);
  const pids: number[] = [];
  for (const name of names) {
    expect(await bus.nameHasOwner(name)).toBe(true);
    pids.push((await bus.credentials((await bus.nameOwner(name))!)).pid!);
  }
  bus.close();

  // `weft demo` on this desktop refuses at once, saying why, and touches nothing: the shell was started without
  // inspection, which the demo needs to find what to click.
  const outDir = mkdtempSync(join(tmpdir(), "weft-demo-refused-"));
  dirs.push(outDir);
  const refused = await runWeft(["demo", "--out", outDir], { WEFT_BUS_ADDRESS: session.address });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain("the shell does not allow inspection: start weft-shell with WEFT_SHELL_INSPECT=1");
  expect(JSON.parse(readFileSync(join(outDir, "summary.json"), "utf8"))).toMatchObject({ ok: false, steps: [] });

  session.child.kill("SIGINT");
  expect(await session.child.exited).toBe(0);
  const log = await session.log();
  // Started in dependency order.
  const order = [...log.matchAll(/msg="service ready" service=(\S+)/g)].map((m) => m[1]);
  expect(order).toEqual(sessionServices("headless").map((s) => s.name));
  for (const pid of pids) expect(alive(pid)).toBe(false);
}, 120_000);

test("a service that dies stops the session with exit code 1", async () => {
  const session = await startSession();
  const bus = await connectBus({ address: session.address });
  const appd = (await bus.credentials((await bus.nameOwner(AppD.busName))!)).pid!;
  const compositor = (await bus.credentials((await bus.nameOwner(Compositor.busName))!)).pid!;
  bus.close();
  process.kill(appd, "SIGKILL");
  expect(await session.child.exited).toBe(1);
  expect(await session.log()).toContain('service=appd');
  expect(alive(compositor)).toBe(false);
}, 120_000);

test("a killed shell is started again; the running app sessions are not touched", async () => {
  const session = await startSession({}, true);
  const bus = await connectBus({ address: session.address });
  try {
    // An app session (headless: this test is its UI end) that must outlive the shell's death.
    const [sessionId] = (await bus.call({
      destination: AppD.busName,
      path: "/org/weft/AppD1",
      interface: AppD1.name,
      member: "Launch",
      signature: "sa{sv}",
      body: ["org.weft.demo.counter", { headless: new Variant("b", true) }],
    }, { timeoutMs: 90_000 })) as [bigint];
    const shellPid = (await bus.credentials((await bus.nameOwner(Shell.busName))!)).pid!;
    const appdPid = (await bus.credentials((await bus.nameOwner(AppD.busName))!)).pid!;
    process.kill(shellPid, "SIGKILL");
    const deadline = Date.now() + 60_000;
    let newPid: number | undefined;
    while (newPid === undefined || newPid === shellPid) {
      if (Date.now() > deadline) throw new Error("no new shell within 60 s");
      await Bun.sleep(100);
      const owner = await bus.nameOwner(Shell.busName);
      newPid = owner === undefined ? undefined : (await bus.credentials(owner)).pid;
    }
    expect(alive(shellPid)).toBe(false);
    // The rest of the mesh is the same processes.
    expect((await bus.credentials((await bus.nameOwner(AppD.busName))!)).pid).toBe(appdPid);
    expect(session.child.exitCode).toBeNull();
    const [sessions] = (await bus.call({ destination: AppD.busName, path: "/org/weft/AppD1", interface: AppD1.name, member: "ListSessions", signature: "", body: [] })) as [unknown[][]];
    expect(sessions.find((row) => row[0] === sessionId)?.[2]).toBe("running");
  } finally {
    bus.close();
  }
  session.child.kill("SIGINT");
  expect(await session.child.exited).toBe(0);
  expect(await session.log()).toContain("starting it again");
}, 120_000);

test("arguments: commands, backends and flags are checked", () => {
  expect(parseSessionArgs(["session"])).toEqual({ backend: "auto", userBus: false, demo: false, out: undefined });
  expect(parseSessionArgs(["session", "--demo", "--out", "/tmp/x"])).toMatchObject({ demo: true, out: "/tmp/x" });
  for (const argv of [[], ["sessions"], ["session", "--backend", "drm9"], ["session", "extra"], ["session", "--bogus"], ["session", "--out", "/tmp/x"], ["x".repeat(10_000)]]) {
    expect(() => parseSessionArgs(argv)).toThrow();
  }
  expect(chooseBackend({ WAYLAND_DISPLAY: "wayland-0" })).toBe("wayland");
  expect(chooseBackend({ DISPLAY: ":0" })).toBe("x11");
  expect(chooseBackend({})).toBe("headless");
  expect(chooseBackend({ DISPLAY: ":0" }, "headless")).toBe("headless");
});

test("weft demo: its arguments are checked, and a bus without a desktop is named as the problem", async () => {
  expect(parseDemoArgs(["demo"])).toEqual({ out: undefined, patience: 1 });
  expect(parseDemoArgs(["demo", "--out", "/tmp/x", "--patience", "20"])).toEqual({ out: "/tmp/x", patience: 20 });
  for (const argv of [["demo", "--patience", "0"], ["demo", "--patience", "21"], ["demo", "--patience", "1.5"], ["demo", "--patience", "-1"], ["demo", "--patience", "x".repeat(10_000)], ["demo", "--out", ""], ["demo", "extra"], ["demo", "--demo"]]) {
    expect(() => parseDemoArgs(argv)).toThrow();
  }
  const usage = await runWeft(["demo", "--patience", "0"]);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain("--patience must be a whole number from 1 to 20");

  await using bus = await startPrivateBus();
  const outDir = mkdtempSync(join(tmpdir(), "weft-demo-nothing-"));
  dirs.push(outDir);
  const nothing = await runWeft(["demo", "--out", outDir], { WEFT_BUS_ADDRESS: bus.address });
  expect(nothing.code).toBe(1);
  expect(nothing.stdout).toContain(`${Compositor.busName} is not on the bus: start the desktop first`);
});

test("usage errors exit 2 and say what is wrong", async () => {
  const child = Bun.spawn([process.execPath, MAIN, "session", "--backend", "vulkan"], { stdout: "pipe", stderr: "pipe" });
  expect(await child.exited).toBe(2);
  expect(await new Response(child.stderr).text()).toContain('unknown backend "vulkan"');
});
