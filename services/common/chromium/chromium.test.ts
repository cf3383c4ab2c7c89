/**
 * Debian's Chromium as a view on the real compositor: served from a reserved origin through the Fetch domain,
 * nothing else reachable (a local HTTP server sees no request), navigation away undone, the window mapped in
 * the session's slot with the page's pixels in it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { descendantsOf } from "../os/processes.ts";
import { createLogger } from "../daemon/log.ts";
import { CompositorWorld } from "../../../testing/compositor.ts";
import { pixelAt } from "../image/png.ts";
import type { ChromiumProcess } from "./chromium.ts";
import { viewOrigin } from "./origin.ts";
import { openTestView, textFiles, type TestView } from "../../../testing/chromium.ts";

const log = createLogger("chromium-test", { level: "warn" });
let world: CompositorWorld;
let chromium: ChromiumProcess;
let evaluate: TestView["evaluate"];
let until: TestView["until"];
let hits = 0;
let server: ReturnType<typeof Bun.serve>;
const origin = viewOrigin("org.weft.test.view");

const FILES: Record<string, string> = {
  "index.html": `<!doctype html><html><head><link rel="stylesheet" href="style.css"><script src="app.js" defer></script></head><body><h1 id="t">waiting</h1></body></html>`,
  "style.css": "html, body { margin: 0; height: 100%; overflow: hidden; background: #00ff00; }",
  "app.js": "document.getElementById('t').textContent = 'served';",
};

beforeAll(async () => {
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => (hits++, new Response("local")) });
  world = await CompositorWorld.start();
  const view = await openTestView({ waylandFd: await world.openClient("application", 7n), label: "org.weft.test.view", name: "test", file: textFiles(FILES), log });
  ({ chromium, evaluate, until } = view);
}, 60_000);

afterAll(async () => {
  await chromium?.stop();
  await world?.close();
  server?.stop(true);
});

test("the page is served from its origin and its window fills the session's slot with its pixels", async () => {
  await until(async () => (await evaluate("document.getElementById('t')?.textContent")) === "served", "the page script");
  expect(await evaluate("location.origin")).toBe(origin);
  const [window] = await world.waitForWindows((w) => w.some((x) => x.session === 7n), "chromium's window");
  expect(window).toMatchObject({ session: 7n, role: "application", x: 0, y: 0, width: 1280, height: 720, focused: true });
  // An app window: no tab strip or address bar, the title is the page's.
  expect(window!.title).not.toContain("Chromium");
  let green = false;
  await until(async () => {
    const shot = await world.screenshot();
    // The page is the whole window: green from the top-left corner (no browser toolbar) to the bottom.
    green = [pixelAt(shot, 640, 600), pixelAt(shot, 1270, 5), pixelAt(shot, 5, 715)].every(([r, g, b]) => r < 40 && g > 200 && b < 40);
    return green;
  }, "green pixels on screen");
  expect(green).toBe(true);
}, 60_000);

test("the page reaches nothing else: a local HTTP server sees no request, other origins fail", async () => {
  const port = server.port;
  const outcome = await evaluate(`Promise.all([
    fetch("http://127.0.0.1:${port}/").then(() => "loaded", (e) => "failed"),
    fetch("https://example.com/").then(() => "loaded", (e) => "failed"),
    fetch("${viewOrigin("org.weft.other")}/index.html").then(() => "loaded", (e) => "failed"),
    new Promise((resolve) => { const ws = new WebSocket("ws://127.0.0.1:${port}/"); ws.onopen = () => resolve("open"); ws.onerror = () => resolve("failed"); }),
  ])`);
  expect(outcome).toEqual(["failed", "failed", "failed", "failed"]);
  // An image element bypasses connect-src; it still goes through the Fetch domain, which blocks it.
  await evaluate(`new Promise((resolve) => { const i = new Image(); i.onload = i.onerror = () => resolve(0); i.src = "http://127.0.0.1:${port}/x.png"; })`);
  expect(hits).toBe(0);
}, 60_000);

test("the browser and every helper run in a network namespace of their own, with no interface up", async () => {
  const browser = chromium.process.pid;
  const family = [browser, ...descendantsOf(browser)];
  expect(family.length).toBeGreaterThan(2); // the zygotes and the renderer, not only the browser
  const ours = readlinkSync("/proc/self/ns/net");
  const theirs = new Set(family.map((pid) => readlinkSync(`/proc/${pid}/ns/net`)));
  expect(theirs.size).toBe(1);
  expect(theirs.has(ours)).toBe(false);
  // /proc/<pid>/net/dev lists the interfaces of the process's namespace: only lo, with nothing sent.
  const interfaces = readFileSync(`/proc/${browser}/net/dev`, "utf8").split("\n").slice(2).filter((line) => line.includes(":"));
  expect(interfaces.map((line) => line.split(":")[0]!.trim())).toEqual(["lo"]);
  expect(readFileSync(`/proc/${browser}/net/route`, "utf8").trim().split("\n").length).toBe(1); // the header: no route
}, 60_000);

test("navigating away is undone", async () => {
  await evaluate(`location.href = "http://127.0.0.1:${server.port}/elsewhere"; 0`);
  await until(async () => (await evaluate("location.origin").catch(() => "")) === origin && (await evaluate("document.getElementById('t')?.textContent").catch(() => "")) === "served", "the page back on its origin");
  expect(hits).toBe(0);
}, 60_000);

test("a profile left by a killed browser is removed at the next start; a live one is kept", async () => {
  const { mkdtempSync, mkdirSync, symlinkSync, existsSync, readlinkSync, rmSync } = await import("node:fs");
  const { hostname, tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { removeStaleProfiles } = await import("./chromium.ts");
  const parent = mkdtempSync(join(tmpdir(), "weft-profiles-"));
  try {
    // Chromium's own lock names its host and pid: the running test browser's profile has one.
    expect(readlinkSync(join(chromium.profileDir, "SingletonLock"))).toBe(`${hostname()}-${chromium.process.pid}`);
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    const make = (suffix: string, owner?: string) => {
      const dir = join(parent, `weft-chromium-test-${suffix}`);
      mkdirSync(dir);
      if (owner !== undefined) symlinkSync(owner, join(dir, "SingletonLock"));
      return dir;
    };
    const stale = make("stale", `${hostname()}-${dead.pid}`);
    const running = make("running", `${hostname()}-${process.pid}`);
    const otherHost = make("other-host", `elsewhere-${dead.pid}`);
    const unlocked = make("unlocked");
    const otherName = join(parent, "weft-chromium-shell-x");
    mkdirSync(otherName);
    symlinkSync(`${hostname()}-${dead.pid}`, join(otherName, "SingletonLock"));
    expect(removeStaleProfiles(parent, "test", log)).toBe(1);
    expect([stale, running, otherHost, unlocked, otherName].map((dir) => existsSync(dir))).toEqual([false, true, true, true, true]);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
