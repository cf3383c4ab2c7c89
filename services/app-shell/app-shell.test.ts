/**
 * weft-app-shell end to end, the way a user meets it: the real compositor (headless, pixman), the real appd,
 * runtimes and Chromium on a private bus, the signed demo counter and a sandbox fixture app signed with the
 * test key. Clicks go through the compositor's test input at the window position + ElementRect's centre;
 * what the page shows is read back with ElementText (WEFT_APP_SHELL_INSPECT=1 in appd's environment).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { buildApps } from "../../apps/build.ts";
import { contractPath, isBusError, Variant, type ServiceClient } from "../common/bus/index.ts";
import { expectIntrospectionMatchesContract } from "../../testing/bus.ts";
import { pixelAt, type Pixels } from "../common/image/png.ts";
import { descendantsOf, processAlive } from "../common/os/processes.ts";
import { AppdWorld, FakeSystemd, type AppdProcess, type CompositorProcess } from "../../testing/appd.ts";
import { DEMO_DIST, until } from "../../testing/runtime.ts";
import { connectBus } from "../common/bus/index.ts";
import { closeFd, makeSocketPair } from "../common/bus/libc.ts";
import { RuntimeHandle, AppShellHandle } from "../appd/children.ts";
import { openVerifiedPackage } from "../common/package/verified-package.ts";
import { assertAppId } from "../../protocol/app-id.ts";
import { profileParentFor } from "../common/chromium/profile.ts";
import { AppD1, AppD1Session, AppShell, AppShell1, AppShell1Inspect, errorName, Runtime1 } from "../../protocol/dbus/index.ts";

const COUNTER = "org.weft.demo.counter";
const SANDBOX = "org.weft.test.sandbox";
const LONG = { timeoutMs: 90_000 };
/** The sandbox page fetches this fixed port (fixtures/apps/org.weft.test.sandbox/ui/probe.js). */
// Below Linux's ephemeral range (32768-60999), so no outgoing connection of another test can hold it.
const LOCAL_PORT = 24613;
/** The UDP and TCP listeners the page's other transports aim at (WebRTC, WebSocket, WebTransport, …). */
const TRANSPORT_PORT = 24614;
/** Loopback and this machine's first other address (another loopback address when it has none). */
const TARGET_HOSTS = ["127.0.0.1", otherLocalAddress()];

let world: AppdWorld;
let compositor: CompositorProcess;
let appd: AppdProcess;
const servers: { stop(): void }[] = [];
/** Every request, connection and datagram any listener got: what the sandbox must keep at zero. */
const serverHits: string[] = [];

function otherLocalAddress(): string {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && !address.internal && address.family === "IPv4");
  return external?.address ?? "127.0.0.2";
}

/** An HTTP server on LOCAL_PORT and raw TCP and UDP listeners on TRANSPORT_PORT, on every target address. */
async function listenEverywhere(): Promise<void> {
  for (const hostname of TARGET_HOSTS) {
    const http = Bun.serve({ port: LOCAL_PORT, hostname, fetch: (request) => (serverHits.push(`http ${request.url}`), new Response("local")) });
    servers.push({ stop: () => http.stop(true) });
    const tcp = Bun.listen({
      hostname,
      port: TRANSPORT_PORT,
      socket: {
        open: (socket) => void serverHits.push(`tcp ${hostname}:${TRANSPORT_PORT} from ${socket.remoteAddress}`),
        data: (_socket, data) => void serverHits.push(`tcp data ${data.subarray(0, 64).toString("latin1")}`),
      },
    });
    servers.push({ stop: () => tcp.stop(true) });
    const udp = await Bun.udpSocket({
      hostname,
      port: TRANSPORT_PORT,
      socket: { data: (_socket, data, port, address) => void serverHits.push(`udp ${hostname}:${TRANSPORT_PORT} from ${address}:${port}: ${data.subarray(0, 64).toString("hex")}`) },
    });
    servers.push({ stop: () => udp.close() });
  }
}

beforeAll(async () => {
  await listenEverywhere();
  // Monitoring allowed, as on an ordinary user bus, so the sandbox test can watch as a same-user monitor would
  // (WEFT's own bus refuses monitors: services/common/bus/private-bus.ts).
  world = new AppdWorld({ bus: { monitoring: "allowed" } });
  await world.start();
  await world.install(join(DEMO_DIST, COUNTER));
  const appsDir = join(world.root, "fixture-src");
  cpSync(join(import.meta.dir, "fixtures/apps", SANDBOX), join(appsDir, SANDBOX), { recursive: true });
  writeFileSync(join(appsDir, SANDBOX, "ui/targets.js"), `window.weftProbeTargets = ${JSON.stringify({ hosts: TARGET_HOSTS, port: TRANSPORT_PORT })};\n`);
  const [built] = await buildApps({ appsDir, distDir: join(world.root, "fixture-dist"), keyFile: world.testKey.secretFile, log: () => {} });
  await world.install(built!.packageDir);
  compositor = await world.startCompositor();
  appd = await world.startAppd({ WEFT_APP_SHELL_INSPECT: "1" });
}, 120_000);

afterAll(async () => {
  await appd?.stop();
  await world?.close();
  for (const server of servers) server.stop();
});

function sessionClient(path: string): ServiceClient {
  return world.supervisor.client(contractPath(AppD1Session.name), AppD1.name, { path, interface: AppD1Session.name });
}

async function launch(appId: string): Promise<{ id: bigint; session: ServiceClient }> {
  const [id, path] = (await appd.client.callWith(LONG, "Launch", appId, {})) as [bigint, string];
  return { id, session: sessionClient(path) };
}

function inspect(id: bigint, member: "ElementRect" | "ElementText", selector: string): Promise<unknown[]> {
  return world.supervisor.call({ destination: AppShell.busName(id), path: AppShell.path, interface: AppShell1Inspect.name, member, signature: "s", body: [selector] });
}

async function text(id: bigint, selector: string): Promise<string> {
  return ((await inspect(id, "ElementText", selector)) as [string])[0];
}

async function waitForText(id: bigint, selector: string, expected: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  // NotFound while the page is (re)loading: it comes back.
  const current = () => text(id, selector).catch((error) => (isBusError(error, errorName(AppShell1Inspect, "NotFound")) ? "(no such element yet)" : Promise.reject(error)));
  while ((last = await current()) !== expected) {
    if (Date.now() > deadline) throw new Error(`${selector} shows ${JSON.stringify(last)}, not ${JSON.stringify(expected)}`);
    await Bun.sleep(50);
  }
}

async function windowOf(id: bigint) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const window = (await compositor.listWindows()).find((w) => w.session === id);
    if (window !== undefined) return window;
    if (Date.now() > deadline) throw new Error(`no window for session ${id}`);
    await Bun.sleep(25);
  }
}

/** Clicks the element's centre through the compositor (window position + ElementRect). */
async function clickElement(id: bigint, selector: string): Promise<void> {
  const window = await windowOf(id);
  const [x, y, width, height] = (await inspect(id, "ElementRect", selector)) as [number, number, number, number];
  await compositor.click(window.x + x + width / 2, window.y + y + height / 2);
}

function crop(shot: Pixels, box: { x: number; y: number; width: number; height: number }): string {
  const rows: string[] = [];
  for (let y = Math.floor(box.y); y < box.y + box.height; y += 2) {
    for (let x = Math.floor(box.x); x < box.x + box.width; x += 2) rows.push(pixelAt(shot, x, y).join(","));
  }
  return rows.join(" ");
}

async function expectError(call: Promise<unknown>, type: string, fragment = ""): Promise<void> {
  try {
    await call;
  } catch (error) {
    expect(`${(error as { type?: string }).type}: ${(error as Error).message}`).toContain(`${type}: `);
    expect(isBusError(error, type)).toBe(true);
    expect((error as Error).message).toContain(fragment);
    return;
  }
  throw new Error(`expected ${type}`);
}

/** Chromium processes whose profile is in this session's directory (the browser and its helpers). */
function chromiumsOf(id: bigint): number[] {
  const marker = profileParentFor(id, world.env);
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(processAlive);
}

describe("the counter in its window", () => {
  let first: bigint;

  test("launch maps the app's window in the session's slot; clicks reach the page, the page reaches the app and back", async () => {
    const { id, session } = await launch(COUNTER);
    first = id;
    expect(await session.get("State")).toBe("running");
    const uiPid = (await session.get("UiPid")) as number;
    expect(uiPid).toBeGreaterThan(0);
    expect(processAlive(uiPid)).toBe(true);
    const window = await windowOf(id);
    expect(window).toMatchObject({ session: id, role: "application", x: 0, y: 0, width: 1280, height: 720 });
    // Chromium names an app window after its URL: the app's origin label is in the app id.
    expect(window.appId).toContain("org-weft-demo-counter.weft.invalid");
    await expectIntrospectionMatchesContract({ address: world.bus.address, destination: AppShell.busName(id), path: AppShell.path, contract: contractPath(AppShell1.name), interface: AppShell1.name });
    await expectIntrospectionMatchesContract({ address: world.bus.address, destination: AppShell.busName(id), path: AppShell.path, contract: contractPath(AppShell1Inspect.name), interface: AppShell1Inspect.name });
    const appShell = world.supervisor.client(contractPath(AppShell1.name), AppShell.busName(id), { path: AppShell.path });
    expect(await appShell.get("State")).toBe("bound");
    expect(await appShell.get("AppId")).toBe(COUNTER);
    expect(await appShell.get("Inspectable")).toBe(true);

    await waitForText(id, "#count", "0"); // the page asked for the count and got the reply
    const [cx, cy, cw, ch] = (await inspect(id, "ElementRect", "#count")) as [number, number, number, number];
    const countBox = { x: window.x + cx, y: window.y + cy, width: cw, height: ch };
    const before = crop(await compositor.screenshot(), countBox);
    for (let i = 0; i < 3; i++) await clickElement(id, "#increment");
    await waitForText(id, "#count", "3");
    let after = before;
    const deadline = Date.now() + 20_000;
    while (after === before && Date.now() < deadline) {
      after = crop(await compositor.screenshot(), countBox);
      if (after === before) await Bun.sleep(50);
    }
    expect(after).not.toBe(before);
  }, 120_000);

  test("two counter sessions stay independent: each window shows its own count", async () => {
    const { id: second } = await launch(COUNTER);
    await waitForText(second, "#count", "0");
    await compositor.call("FocusSession", "t", [second]);
    await clickElement(second, "#decrement");
    await waitForText(second, "#count", "\u22121");
    await compositor.call("FocusSession", "t", [first]);
    await clickElement(first, "#increment");
    await waitForText(first, "#count", "4");
    expect(await text(second, "#count")).toBe("\u22121");
    await appd.client.callWith(LONG, "Terminate", second);
  }, 120_000);

  test("hostile selectors are InvalidArgs, missing elements NotFound", async () => {
    const bad = ["", "#count\u001b[0m", "[[[", "a".repeat(1025), "#count, )", ":has(", "\u0007"];
    for (const selector of bad) await expectError(inspect(first, "ElementText", selector), errorName(AppShell1Inspect, "InvalidArgs"));
    await expectError(inspect(first, "ElementRect", "#nothing-here"), errorName(AppShell1Inspect, "NotFound"), "#nothing-here");
    await expectError(inspect(first, "ElementText", "#nothing-here"), errorName(AppShell1Inspect, "NotFound"));
    // Not the supervisor: Bound is refused.
    await expectError(
      world.supervisor.call({ destination: AppShell.busName(first), path: AppShell.path, interface: AppShell1.name, member: "Bound" }),
      errorName(AppShell1, "AccessDenied"),
    );
    expect(await text(first, "#count")).toBe("4");
  }, 60_000);

  test("Terminate stops the app-shell, its Chromium and the runtime, and removes the profile", async () => {
    const session = sessionClient(`/org/weft/AppD1/sessions/${first}`);
    const uiPid = (await session.get("UiPid")) as number;
    const runtimePid = (await session.get("RuntimePid")) as number;
    const chromium = chromiumsOf(first);
    expect(chromium.length).toBeGreaterThan(0);
    await appd.client.callWith(LONG, "Terminate", first);
    expect(await session.get("State")).toBe("stopped");
    for (const pid of [uiPid, runtimePid, ...chromium]) await until(() => !processAlive(pid), `pid ${pid} to end`);
    expect(existsSync(profileParentFor(first, world.env))).toBe(false);
    expect(await world.supervisor.nameHasOwner(AppShell.busName(first))).toBe(false);
  }, 60_000);
});

describe("the page's sandbox", () => {
  test("the page reaches no local server, no other app, no network, over no transport; its bridge is sealed and echoes odd payloads", async () => {
    // A same-user client watching everything on the bus (BecomeMonitor) while the page and the guest talk.
    // stdbuf: busctl writes a pipe in blocks, and SIGTERM would lose the last one.
    const monitor = Bun.spawn(["stdbuf", "-oL", "busctl", `--address=${world.bus.address}`, "monitor", "--json=short"], { stdout: "pipe", stderr: "pipe" });
    let watched = "";
    let status = "";
    const collect = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
    };
    const reading = collect(monitor.stdout as ReadableStream<Uint8Array>, (text) => (watched += text));
    void collect(monitor.stderr as ReadableStream<Uint8Array>, (text) => (status += text));
    await until(() => status.includes("Monitoring bus message stream"), "the monitor to be on the bus");
    const { id } = await launch(SANDBOX);
    for (const what of ["local", "other", "network", "image"]) await waitForText(id, `#${what}`, "failed");
    await waitForText(id, "#bridge", "sealed");
    await waitForText(id, "#session", String(id));
    await waitForText(id, "#echo", 'echo:hello \u2028 "quoted" </script>');
    const transports = "webrtc websocket webtransport eventsource beacon preconnect form";
    await waitForText(id, "#transports", TARGET_HOSTS.map(() => transports).join(" "));
    // ICE gathering, TURN allocation and connection attempts run on after the calls return: give them time to
    // reach a listener (Chromium's STUN/TURN requests go out within a second when nothing stops them).
    await Bun.sleep(5_000);
    expect(serverHits).toEqual([]);

    // The page ↔ guest messages went over the session channel: the monitor saw no Post, no Message, and the
    // page's payload in no call or signal (only in the Inspect replies this test asked for).
    monitor.kill("SIGTERM");
    await reading;
    const messages = watched.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(messages.some((m) => m.member === "Launch")).toBe(true); // the monitor did see the session's traffic
    expect(messages.filter((m) => m.interface === Runtime1.name && (m.member === "Post" || m.member === "Message"))).toEqual([]);
    expect(messages.filter((m) => m.type !== "method_return" && JSON.stringify(m).includes("quoted"))).toEqual([]);

    // Navigating away is undone: the page is loaded again on its origin and the server still sees nothing.
    const loads = Number(await text(id, "#loads"));
    await clickElement(id, "#leave");
    await waitForText(id, "#loads", String(loads + 1));
    await waitForText(id, "#echo", 'echo:hello \u2028 "quoted" </script>');
    expect(serverHits).toEqual([]);
    await appd.client.callWith(LONG, "Terminate", id);
  }, 120_000);
});

describe("a page that sends faster than its app takes", () => {
  test("every message it sends comes back or is reported dropped to weftIpc.ondrop: none is lost silently", async () => {
    const { id } = await launch(SANDBOX);
    await waitForText(id, "#echo", 'echo:hello \u2028 "quoted" </script>');
    await clickElement(id, "#flood");
    let result = "";
    const deadline = Date.now() + 60_000;
    while (!(result = await text(id, "#flood-result")).includes("accounted for")) {
      if (Date.now() > deadline) throw new Error(`the flood was not accounted for within 60 s: ${JSON.stringify(result)}`);
      await Bun.sleep(200);
    }
    const [, echoed, dropped, notices] = /^5000 accounted for: (\d+) echoed, (\d+) dropped in (\d+) notices$/.exec(result)!.map(Number);
    expect(echoed! + dropped!).toBe(5000);
    expect(dropped).toBeGreaterThan(0); // 5000 at once cannot all be in flight
    expect(notices).toBeGreaterThan(0);
    expect(notices).toBeLessThan(dropped!); // counted into few notices, not one per message
    await appd.client.callWith(LONG, "Terminate", id);
  }, 120_000);
});

describe("when a part of the session dies", () => {
  test("killing the session's Chromium ends the session with the documented reason and leaves no process", async () => {
    const { id, session } = await launch(COUNTER);
    const uiPid = (await session.get("UiPid")) as number;
    const runtimePid = (await session.get("RuntimePid")) as number;
    const appShell = world.supervisor.client(contractPath(AppShell1.name), AppShell.busName(id), { path: AppShell.path });
    const chromiumPid = (await appShell.get("ChromiumPid")) as number;
    const helpers = chromiumsOf(id);
    expect(helpers).toContain(chromiumPid);
    process.kill(chromiumPid, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while ((await session.get("State")) !== "stopped") {
      if (Date.now() > deadline) throw new Error("the session did not stop");
      await Bun.sleep(50);
    }
    expect(await session.get("ExitReason")).toBe("the app's window is gone: Chromium exited or crashed (weft-app-shell exit 4)");
    for (const pid of [uiPid, runtimePid, ...helpers]) await until(() => !processAlive(pid), `pid ${pid} to end`);
    expect(existsSync(profileParentFor(id, world.env))).toBe(false);
  }, 120_000);

  test("killing the runtime ends the app-shell and its Chromium too", async () => {
    const { id, session } = await launch(COUNTER);
    const uiPid = (await session.get("UiPid")) as number;
    const runtimePid = (await session.get("RuntimePid")) as number;
    const helpers = chromiumsOf(id);
    process.kill(runtimePid, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while ((await session.get("State")) !== "stopped") {
      if (Date.now() > deadline) throw new Error("the session did not stop");
      await Bun.sleep(50);
    }
    expect(await session.get("ExitReason")).toBe("the runtime was killed by SIGKILL");
    for (const pid of [uiPid, ...helpers]) await until(() => !processAlive(pid), `pid ${pid} to end`);
    expect(existsSync(profileParentFor(id, world.env))).toBe(false);
  }, 120_000);

  test("a SIGKILLed app-shell takes its Chromium with it (parent-death signal); the session stops and its profile is removed", async () => {
    const { id, session } = await launch(COUNTER);
    const uiPid = (await session.get("UiPid")) as number;
    const runtimePid = (await session.get("RuntimePid")) as number;
    const helpers = descendantsOf(uiPid);
    expect(helpers.length).toBeGreaterThan(0);
    process.kill(uiPid, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while ((await session.get("State")) !== "stopped") {
      if (Date.now() > deadline) throw new Error("the session did not stop");
      await Bun.sleep(50);
    }
    expect(await session.get("ExitReason")).toBe("the app's window is gone: weft-app-shell was killed by SIGKILL");
    for (const pid of [runtimePid, ...helpers]) await until(() => !processAlive(pid), `pid ${pid} to end`);
    expect(existsSync(profileParentFor(id, world.env))).toBe(false);
  }, 120_000);
});

test("with systemd on the bus, the app-shell joins the session's scope", async () => {
  const systemd = await FakeSystemd.start(world.bus.address);
  try {
    const { id, session } = await launch(COUNTER);
    const unit = (await session.get("UnitName")) as string;
    expect(unit).toBe(`app-weft-${COUNTER}-${id}.scope`);
    expect(systemd.attached).toEqual([[unit, [(await session.get("UiPid")) as number]]]);
    await appd.client.callWith(LONG, "Terminate", id);
  } finally {
    await systemd.close();
  }
}, 120_000);

describe("weft-app-shell on its own, with the test as its supervisor", () => {
  test("without WEFT_APP_SHELL_INSPECT there is no Inspect interface; Bound only from the supervisor; it ends when its supervisor leaves", async () => {
    const supervisor = await connectBus({ address: world.bus.address });
    // The test does what appd does: one session channel, an end for each.
    const [runtimeEnd, appShellEnd] = makeSocketPair();
    const pkg = await openVerifiedPackage(assertAppId(SANDBOX), "run", world.env);
    const runtime = new RuntimeHandle({ package: pkg, sessionId: 900n, supervisor, env: world.env, channelFd: runtimeEnd });
    closeFd(runtimeEnd);
    await runtime.waitForState("running");
    // A session with a channel takes no bus peer as its UI end.
    const bindRefused = await runtime.client.call("BindUi", supervisor.uniqueName).then(() => undefined, (error) => (error as { type?: string }).type);
    expect(bindRefused).toBe(errorName(Runtime1, "AccessDenied"));
    const { WEFT_APP_SHELL_INSPECT: _, ...env } = world.env;
    const logLines: string[] = [];
    const appShell = new AppShellHandle({ package: pkg, sessionId: 900n, supervisor, env, channelFd: appShellEnd, onLogLine: (line) => logLines.push(line) });
    closeFd(appShellEnd);
    const owner = await appShell.waitForReady(60_000);
    const client = world.supervisor.client(contractPath(AppShell1.name), AppShell.busName(900n), { path: AppShell.path });
    expect(await client.get("State")).toBe("ready");
    expect(await client.get("Inspectable")).toBe(false);
    const refusal = await world.supervisor
      .call({ destination: owner, path: AppShell.path, interface: AppShell1Inspect.name, member: "ElementText", signature: "s", body: ["#echo"] })
      .then(() => undefined, (error) => (error as { type?: string }).type);
    expect(refusal).toMatch(/^org\.freedesktop\.DBus\.Error\.Unknown(Interface|Method)$/);
    // The page sent its hello before anyone was bound: held, then posted once the supervisor says Bound.
    await supervisor.call({ destination: owner, path: AppShell.path, interface: AppShell1.name, member: "Bound" });
    expect(await client.get("State")).toBe("bound");
    const chromiumPid = (await client.get("ChromiumPid")) as number;
    expect(processAlive(chromiumPid)).toBe(true);

    await supervisor.close(); // appd gone: the runtime and the app-shell end by themselves
    expect(await appShell.exitCode).toBe(0);
    expect(await runtime.exitCode).toBe(1);
    await until(() => !processAlive(chromiumPid), "Chromium to end");
    expect(existsSync(profileParentFor(900n, world.env))).toBe(false);
    expect(logLines.some((l) => l.includes("the supervisor left the bus") || l.includes("the runtime left the bus") || l.includes("the app ended"))).toBe(true);
  }, 120_000);
});

test("headless launches start no app-shell", async () => {
  const [id, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, { headless: new Variant("b", true) })) as [bigint, string];
  expect(await sessionClient(path).get("UiPid")).toBe(0);
  expect(await world.supervisor.nameHasOwner(AppShell.busName(id))).toBe(false);
  await appd.client.callWith(LONG, "Terminate", id);
}, 60_000);

// Last: it kills appd.
test("if appd is killed, the runtime, the app-shell and its Chromium all end by themselves", async () => {
  const { id, session } = await launch(COUNTER);
  const uiPid = (await session.get("UiPid")) as number;
  const runtimePid = (await session.get("RuntimePid")) as number;
  const helpers = chromiumsOf(id);
  expect(helpers.length).toBeGreaterThan(0);
  appd.process.kill("SIGKILL");
  await appd.process.exited;
  for (const pid of [uiPid, runtimePid, ...helpers]) await until(() => !processAlive(pid), `pid ${pid} to end`);
  expect(await world.supervisor.nameHasOwner(AppShell.busName(id))).toBe(false);
  // The app-shell removed its own profile on its way out (appd, which would have, is gone).
  await until(() => !existsSync(profileParentFor(id, world.env)), "the profile to be removed");
}, 120_000);
