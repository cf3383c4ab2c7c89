/**
 * Layout, focus, window signals and screenshots with real clients: Debian's weston-simple-shm as application
 * and shell windows on the real weft-compositor service (headless, 1280x720).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isBusError } from "../common/bus/index.ts";
import { differingPixels, type Pixels } from "../common/image/png.ts";
import { CompositorWorld, type SpawnedClient, type WindowRow } from "../../testing/compositor.ts";
import { Compositor1 } from "../../protocol/dbus/index.ts";

let world: CompositorWorld;

beforeAll(async () => {
  world = await CompositorWorld.start();
});

afterAll(async () => {
  await world?.close();
});

const OUTPUT = { x: 0, y: 0, width: 1280, height: 720 };

async function expectBusError(promise: Promise<unknown>, name: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isBusError(error, `${Compositor1.name}.Error.${name}`)).toBe(true);
  return error as Error;
}

async function app(session: bigint, role: "shell" | "application" = "application"): Promise<{ client: SpawnedClient; window: WindowRow }> {
  const client = await world.spawnClient(["weston-simple-shm"], role, session);
  const windows = await world.waitForWindows((w) => w.some((x) => x.session === session && x.role === role), `a window of session ${session}`);
  return { client, window: windows.find((x) => x.session === session && x.role === role)! };
}

/** The number of pixels that differ between two screenshots of the whole output (sampled every 8 px). */
const differing = (a: Pixels, b: Pixels) => differingPixels(a, b, OUTPUT, 8);

describe("layout and focus", () => {
  test("an application window fills the application area, has focus, and is announced", async () => {
    const mapped = await world.collectSignals("WindowMapped");
    const focus = await world.collectSignals("FocusChanged");
    const empty = await world.screenshot();
    const { client, window } = await app(11n);
    expect(window).toMatchObject({ ...OUTPUT, session: 11n, role: "application", appId: "org.freedesktop.weston.simple-shm", title: "simple-shm", focused: true });
    expect(await mapped.next((b) => b[0] === window.id)).toEqual([window.id, 11n, "application", "org.freedesktop.weston.simple-shm", "simple-shm"]);
    expect(await focus.next((b) => b[0] === window.id)).toEqual([window.id, 11n]);
    // It draws where the layout put it: the screenshot differs from the empty output inside its rectangle.
    const shown = await pollScreenshot((shot) => differing(empty, shot) > 0);
    expect(differing(empty, shown)).toBeGreaterThan(0);
    const closed = await world.collectSignals("WindowClosed");
    await client.kill();
    expect(await closed.next((b) => b[0] === window.id)).toEqual([window.id, 11n]);
    await world.waitForWindows((w) => w.length === 0, "no window after the client died");
    await Promise.all([mapped.stop(), focus.stop(), closed.stop()]);
  });

  test("one session is shown at a time; FocusSession switches and 0 goes home", async () => {
    const a = await app(21n);
    const b = await app(22n);
    let windows = await world.listWindows();
    expect(windows.find((w) => w.session === 22n)?.focused).toBe(true);
    expect(windows.find((w) => w.session === 21n)?.focused).toBe(false);
    expect(windows[0]?.session).toBe(22n); // most recently focused first

    const focus = await world.collectSignals("FocusChanged");
    await world.call("FocusSession", "t", [21n]);
    expect(await focus.next((body) => body[1] === 21n)).toEqual([a.window.id, 21n]);
    windows = await world.listWindows();
    expect(windows[0]).toMatchObject({ session: 21n, focused: true });

    await world.call("FocusSession", "t", [0n]);
    expect(await focus.next((body) => body[1] === 0n)).toEqual([0, 0n]);
    expect((await world.listWindows()).every((w) => !w.focused)).toBe(true);
    await focus.stop();
    await a.client.kill();
    await b.client.kill();
    await world.waitForWindows((w) => w.length === 0, "no window");
  });

  test("the shell's window fills the output beneath the application area and is focused when home", async () => {
    const shell = await app(1n, "shell");
    expect(shell.window).toMatchObject({ ...OUTPUT, role: "shell", focused: true });
    const homeShot = await pollScreenshot(() => true);
    const application = await app(31n);
    expect(application.window).toMatchObject({ ...OUTPUT, focused: true });
    // The application draws over the shell while its session is shown...
    const appShot = await pollScreenshot((shot) => differing(homeShot, shot) > 0);
    expect(differing(homeShot, appShot)).toBeGreaterThan(0);
    // ...and going home hides it again: the shell has focus, the application's window is still mapped.
    await world.call("FocusSession", "t", [0n]);
    const windows = await world.waitForWindows((w) => w.some((x) => x.role === "shell" && x.focused), "the shell focused");
    expect(windows.some((w) => w.session === 31n)).toBe(true);
    await application.client.kill();
    await shell.client.kill();
    await world.waitForWindows((w) => w.length === 0, "no window");
  });

  test("a session's last window closing goes home", async () => {
    const shell = await app(1n, "shell");
    const application = await app(41n);
    expect((await world.listWindows()).find((w) => w.session === 41n)?.focused).toBe(true);
    await application.client.kill();
    const windows = await world.waitForWindows((w) => !w.some((x) => x.session === 41n), "the application gone");
    expect(windows).toEqual([expect.objectContaining({ role: "shell", focused: true })]);
    await shell.client.kill();
    await world.waitForWindows((w) => w.length === 0, "no window");
  });

  test("CloseSession asks the session's windows to close and the client obeys", async () => {
    const a = await app(51n);
    const b = await app(52n);
    const [asked] = await world.call("CloseSession", "t", [51n]);
    expect(asked).toBe(1);
    await a.client.process.exited; // weston-simple-shm exits on xdg_toplevel.close
    const windows = await world.waitForWindows((w) => !w.some((x) => x.session === 51n), "session 51 closed");
    expect(windows.map((w) => w.session)).toEqual([52n]);
    expect((await world.call("CloseSession", "t", [999n]))[0]).toBe(0);
    await b.client.kill();
    await world.waitForWindows((w) => w.length === 0, "no window");
  });
});

describe("hostile input", () => {
  test("FocusSession of a session without windows is NotFound and changes nothing", async () => {
    const a = await app(61n);
    for (const session of [0xffff_ffff_ffff_ffffn, 62n, 1n]) {
      await expectBusError(world.call("FocusSession", "t", [session]), "NotFound");
    }
    expect((await world.listWindows())[0]).toMatchObject({ session: 61n, focused: true });
    await a.client.kill();
    await world.waitForWindows((w) => w.length === 0, "no window");
  });

  test("Screenshot of an unknown output is NotFound; the PNG of the real one has the output's size", async () => {
    for (const name of ["HEADLESS-9", "x".repeat(10_000), "HEADLESS-1\n", "../HEADLESS-1"]) {
      await expectBusError(world.call("Screenshot", "s", [name]), "NotFound");
    }
    const byName = await world.screenshot("HEADLESS-1");
    expect([byName.width, byName.height]).toEqual([1280, 720]);
  });

  test("wrong argument types are rejected by the bus layer", async () => {
    const error = await world.call("FocusSession", "s", ["1"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(world.service.exitCode).toBeNull();
  });
});

/** Screenshots until `done` holds (a client's first frame arrives asynchronously). */
async function pollScreenshot(done: (shot: Awaited<ReturnType<CompositorWorld["screenshot"]>>) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shot = await world.screenshot();
    if (done(shot) || Date.now() > deadline) return shot;
    await Bun.sleep(30);
  }
}

describe("stopping", () => {
  test("SIGTERM with windows mapped: the service exits 0 and its clients lose their connection", async () => {
    const a = await app(71n);
    const shell = await app(1n, "shell");
    world.service.kill("SIGTERM");
    expect(await world.service.exited).toBe(0);
    // weston-simple-shm exits when the display connection ends.
    const codes = await Promise.all([a.client.process.exited, shell.client.process.exited]);
    expect(codes.every((code) => typeof code === "number")).toBe(true);
    expect(await world.serviceLog).toContain("compositor stopped");
  });
});
