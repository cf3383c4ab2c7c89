/**
 * Input through the real service: the headless compositor's test keyboard and pointer
 * (org.weft.Compositor1.TestInput) typing into and clicking real Debian clients (weston-terminal running a
 * shell script that copies what it reads to a file, weston-simple-shm), navigation gestures, key repeat, and
 * when the interface exists at all (a nested compositor on a real Wayland backend has none).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, contractPath, isBusError } from "../common/bus/index.ts";
import { busctl, expectIntrospectionMatchesContract } from "../../testing/bus.ts";
import { differingPixels, pixelAt } from "../common/image/png.ts";
import { BTN_LEFT, decideTestInput, KEY_LEFTSHIFT } from "./test-input.ts";
import { CompositorWorld, type WindowRow } from "../../testing/compositor.ts";
import { Compositor, Compositor1, Compositor1TestInput } from "../../protocol/dbus/index.ts";

const KEY_Z = 44;
const KEY_X = 45;
const KEY_LEFTMETA = 125;
const KEY_UP = 103;
const KEY_LEFT = 105;
const KEY_RIGHT = 106;
const KEY_DOWN = 108;
const INVALID_ARGS = `${Compositor1.name}.Error.InvalidArgs`;

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("expected the call to fail"),
    (error: unknown) => error,
  );
}

async function expectInvalidArgs(promise: Promise<unknown>, message?: RegExp): Promise<void> {
  const error = await errorOf(promise);
  if (!isBusError(error, INVALID_ARGS)) throw new Error(`expected ${INVALID_ARGS}, got ${String(error)}`);
  if (message) expect((error as Error).message).toMatch(message);
}

/** Polls `read` until `predicate` holds; the last value is in the error otherwise. */
async function until<T>(read: () => T | Promise<T>, predicate: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await Bun.sleep(25);
  }
}

/** A weston-terminal in `session` whose shell copies every line typed into it to a file. */
interface CatTerminal {
  session: bigint;
  out: string;
  window: WindowRow;
  read(): string;
}

async function startCatTerminal(world: CompositorWorld, dir: string, session: bigint): Promise<CatTerminal> {
  const out = join(dir, `out-${session}`);
  const shell = join(dir, `shell-${session}`);
  writeFileSync(shell, `#!/bin/sh\nexec cat > '${out}'\n`, { mode: 0o755 });
  await world.spawnClient(["weston-terminal", `--shell=${shell}`], "application", session);
  const windows = await world.waitForWindows((w) => w.some((row) => row.session === session), `the terminal of session ${session}`);
  // The redirection creates the file: the shell runs on the terminal's pty, so typed lines reach cat.
  await until(() => existsSync(out), Boolean, `${out} to exist`);
  return { session, out, window: windows.find((row) => row.session === session)!, read: () => readFileSync(out, "utf8") };
}

describe("when TestInput exists", () => {
  test("headless backend: on; anything else: only with WEFT_COMPOSITOR_TEST_INPUT=1 exactly", () => {
    expect(decideTestInput(true, {})).toEqual({ enable: true, why: "headless backend" });
    expect(decideTestInput(true, { WEFT_COMPOSITOR_TEST_INPUT: "0" }).enable).toBe(true);
    expect(decideTestInput(false, { WEFT_COMPOSITOR_TEST_INPUT: "1" })).toEqual({ enable: true, why: "WEFT_COMPOSITOR_TEST_INPUT=1" });
    for (const value of [undefined, "", "0", "yes", "true", " 1", "1 "]) {
      expect(decideTestInput(false, { WEFT_COMPOSITOR_TEST_INPUT: value }).enable).toBe(false);
    }
  });

  describe("a compositor nested on a real Wayland backend (inside a headless one)", () => {
    let host: CompositorWorld;
    beforeAll(async () => {
      host = await CompositorWorld.start();
    });
    afterAll(() => host?.close());

    async function nested(backends: string, env: Record<string, string> = {}): Promise<CompositorWorld> {
      const fd = await host.openClient("application", 90n);
      try {
        return await CompositorWorld.start({ env: { WLR_BACKENDS: backends, ...env }, waylandSocket: fd });
      } finally {
        closeFd(fd); // the nested service holds it
      }
    }

    async function exportsTestInput(world: CompositorWorld): Promise<boolean> {
      const result = await busctl(world.bus.address, ["introspect", "--xml-interface", Compositor.busName, Compositor.path]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`interface name="${Compositor1.name}"`);
      return result.stdout.includes(`interface name="${Compositor1TestInput.name}"`);
    }

    test("without the flag it does not export TestInput, and calls to it fail", async () => {
      const world = await nested("wayland");
      try {
        expect((await world.call("ListOutputs"))[0]).toEqual([["WL-1", 0, 0, 1280, 720]]);
        expect(await exportsTestInput(world)).toBe(false);
        const error = await errorOf(world.testInput("Click", "dd", [10, 10]));
        expect(isBusError(error)).toBe(true);
        expect(isBusError(error, INVALID_ARGS)).toBe(false);
      } finally {
        await world.close();
      }
      expect(await world.serviceLog).toContain("test input off");
    });

    test("with the flag but no headless part it stays off and says why", async () => {
      const world = await nested("wayland", { WEFT_COMPOSITOR_TEST_INPUT: "1" });
      try {
        expect(await exportsTestInput(world)).toBe(false);
      } finally {
        await world.close();
      }
      expect(await world.serviceLog).toContain("test input unavailable: the backend has no headless part");
    });

    test("with the flag and a headless part it is on", async () => {
      const world = await nested("wayland,headless", { WEFT_COMPOSITOR_TEST_INPUT: "1" });
      try {
        expect(await exportsTestInput(world)).toBe(true);
      } finally {
        await world.close();
      }
      expect(await world.serviceLog).toContain("test input on");
    });
  });
});

describe("typing into terminals", () => {
  let world: CompositorWorld;
  let dir: string;
  let a: CatTerminal;
  let b: CatTerminal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-input-test-"));
    world = await CompositorWorld.start();
    a = await startCatTerminal(world, dir, 1n);
    b = await startCatTerminal(world, dir, 2n);
  });
  afterAll(async () => {
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const focus = (session: bigint) => world.call("FocusSession", "t", [session]);
  /** `busctl call` on TestInput, for arguments dbus-next will not send (NaN, infinities); expects InvalidArgs. */
  async function expectBusctlInvalid(args: string[], message: RegExp): Promise<void> {
    const result = await busctl(world.bus.address, ["call", "--", Compositor.busName, Compositor.path, Compositor1TestInput.name, ...args]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(message);
    // busctl prints only the message; the error's name is checked on the same path with dbus-next elsewhere.
  }
  const typeText = (text: string) => world.testInput("TypeText", "s", [text]);
  const key = (keycode: number, pressed: boolean) => world.testInput("Key", "ub", [keycode, pressed]);

  test("the headless service exports TestInput as its contract says", async () => {
    await expectIntrospectionMatchesContract({
      address: world.bus.address,
      destination: Compositor.busName,
      path: Compositor.path,
      contract: contractPath(Compositor1TestInput.name),
    });
  });

  test("typed text reaches the focused terminal only", async () => {
    await focus(a.session);
    await typeText("hello A\n");
    await until(() => a.read(), (text) => text === "hello A\n", "terminal A's line");
    await focus(b.session);
    await typeText("Hello B! ~(x_y)\n");
    await until(() => b.read(), (text) => text === "Hello B! ~(x_y)\n", "terminal B's line");
    expect(a.read()).toBe("hello A\n");
  });

  test("Key with Shift held types an uppercase letter", async () => {
    await focus(a.session);
    const before = a.read();
    await key(KEY_LEFTSHIFT, true);
    await key(KEY_X, true);
    await key(KEY_X, false);
    await key(KEY_LEFTSHIFT, false);
    await key(KEY_X, true);
    await key(KEY_X, false);
    await typeText("\n");
    await until(() => a.read(), (text) => text === `${before}Xx\n`, "Xx in terminal A");
  });

  test("the seat advertises key repeat 25 Hz after 200 ms, and a held key repeats in the client", async () => {
    const info = await world.spawnClient(["wayland-info"], "application", 3n);
    const { stdout } = await info.output;
    expect(stdout).toMatch(/keyboard repeat rate: 25\b/);
    expect(stdout).toMatch(/keyboard repeat delay: 200\b/);

    await focus(a.session);
    const before = a.read();
    await key(KEY_Z, true);
    await Bun.sleep(700); // holding the key is the point of this test: 200 ms delay, then 25 per second
    await key(KEY_Z, false);
    await typeText("\n");
    const text = await until(() => a.read(), (t) => t.length > before.length && t.endsWith("\n"), "the repeated line");
    const line = text.slice(before.length, -1);
    expect(line).toMatch(/^z+$/);
    expect(line.length).toBeGreaterThan(1);
    // Released means stopped: the next line has no z.
    await typeText("end\n");
    await until(() => a.read(), (t) => t === `${text}end\n`, "the line after the release");
  });

  test("Super+arrows are navigation gestures, never delivered to the focused client", async () => {
    await focus(a.session);
    const before = a.read();
    const gestures = await world.collectSignals("NavigationGesture");
    try {
      await key(KEY_LEFTMETA, true);
      for (const arrow of [KEY_UP, KEY_DOWN, KEY_LEFT, KEY_RIGHT]) {
        await key(arrow, true);
        await key(arrow, false);
      }
      await key(KEY_LEFTMETA, false);
      await gestures.next((body) => body[2] === 100);
      expect(gestures.received).toEqual([
        [0, 3, 0, -100],
        [0, 3, 0, 100],
        [0, 3, -100, 0],
        [0, 3, 100, 0],
      ]);
    } finally {
      await gestures.stop();
    }
    // The arrows never reached the terminal (it would have sent an escape sequence to cat).
    await typeText("after\n");
    await until(() => a.read(), (t) => t.endsWith("after\n"), "the line after the shortcuts");
    expect(a.read()).toBe(`${before}after\n`);
  });

  test("Swipe goes through the recogniser: 3+ fingers and 100 px make a gesture, less makes none", async () => {
    const gestures = await world.collectSignals("NavigationGesture");
    try {
      await world.testInput("Swipe", "udd", [3, 0, -150]);
      await world.testInput("Swipe", "udd", [2, 0, -150]); // too few fingers
      await world.testInput("Swipe", "udd", [3, 10, 10]); // too short
      await world.testInput("Swipe", "udd", [5, -99.5, 99.5]); // just short on both axes
      await world.testInput("Swipe", "udd", [4, 200, 0]); // the last one: everything before it has arrived
      await gestures.next((body) => body[1] === 4);
      expect(gestures.received).toEqual([
        [0, 3, 0, -150],
        [0, 4, 200, 0],
      ]);
    } finally {
      await gestures.stop();
    }
  });

  test("typed text changes the terminal's pixels", async () => {
    await focus(a.session);
    const box = { x: a.window.x, y: a.window.y, width: Math.min(a.window.width, 600), height: Math.min(a.window.height, 200) };
    const before = await world.screenshot();
    await typeText("WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW");
    // A glyph row of 30 W is several hundred pixels; the cursor cell alone is far less.
    await until(async () => differingPixels(before, await world.screenshot(), box), (n) => n > 600, "the typed text on screen");
    await typeText("\n");
    await until(() => a.read(), (t) => t.endsWith("WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW\n"), "the W line");
  });

  describe("hostile input", () => {
    test("NaN, infinite and out-of-output coordinates are refused", async () => {
      // dbus-next refuses to marshal NaN, so these go through busctl (strtod reads nan and inf).
      for (const [x, y] of [
        ["nan", "10"],
        ["10", "inf"],
        ["-inf", "nan"],
      ]) {
        for (const member of ["PointerMove", "Click"]) {
          await expectBusctlInvalid([member, "dd", x!, y!], /not finite/);
        }
      }
      for (const [x, y] of [
        [1280, 10],
        [-1, 10],
        [10, 720],
        [10, -0.5],
        [1e300, 1e300],
      ]) {
        await expectInvalidArgs(world.testInput("PointerMove", "dd", [x, y]), /not inside an output/);
        await expectInvalidArgs(world.testInput("Click", "dd", [x, y]), /not inside an output/);
      }
      await world.testInput("PointerMove", "dd", [1279.5, 719.5]); // the last pixel is inside
    });

    test("buttons and keycodes out of range, keys already held or not held", async () => {
      for (const button of [0, 1, 0xff, 0x300, 0xffffffff]) {
        await expectInvalidArgs(world.testInput("PointerButton", "ub", [button, true]), /not a pointer button/);
      }
      for (const keycode of [0, 0x2ff, 0x300, 70000, 0xffffffff]) {
        await expectInvalidArgs(key(keycode, true), /not a key of the keymap/);
      }
      await expectInvalidArgs(key(KEY_X, false), /not held/);
      await key(KEY_LEFTSHIFT, true);
      await expectInvalidArgs(key(KEY_LEFTSHIFT, true), /already held/);
      await expectInvalidArgs(typeText("x"), /release it/);
      await key(KEY_LEFTSHIFT, false);
    });

    test("wrong argument types are InvalidArgs from the bus kit", async () => {
      for (const [member, signature, body] of [
        ["PointerMove", "ss", ["1", "2"]],
        ["Key", "u", [30]],
        ["TypeText", "u", [5]],
        ["Swipe", "ddd", [3, 0, 100]],
      ] as const) {
        const error = await errorOf(world.testInput(member, signature, [...body]));
        expect(isBusError(error, "org.freedesktop.DBus.Error.InvalidArgs")).toBe(true);
      }
    });

    test("untypable, huge and empty text: an error naming the character, nothing typed", async () => {
      await focus(b.session);
      const before = b.read();
      await expectInvalidArgs(typeText("ok 😀 not ok"), /U\+1F600 "😀" \(character 4\).*nothing was typed/);
      await expectInvalidArgs(typeText("ç"), /U\+00E7/);
      await expectInvalidArgs(typeText("\u0007"), /U\+0007/);
      await expectInvalidArgs(typeText("a".repeat(4097)), /at most 4096/);
      await typeText(""); // nothing to type is not an error
      await typeText("done\n");
      await until(() => b.read(), (t) => t === `${before}done\n`, "only the last line in B");
    });

    test("fingers 0 or 1000 and absurd displacements are refused", async () => {
      for (const fingers of [0, 11, 1000, 0xffffffff]) {
        await expectInvalidArgs(world.testInput("Swipe", "udd", [fingers, 0, -150]), /pass 1 to 10/);
      }
      for (const [dx, dy] of [
        ["nan", "0"],
        ["0", "-inf"],
        ["1e6", "0"],
      ]) {
        await expectBusctlInvalid(["Swipe", "udd", "3", dx!, dy!], /must be finite/);
      }
    });
  });
});

describe("pointer", () => {
  let world: CompositorWorld;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-input-test-"));
    world = await CompositorWorld.start();
  });
  afterAll(async () => {
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("weston-simple-shm's pixels appear where the layout put its window", async () => {
    const empty = await world.screenshot();
    await world.spawnClient(["weston-simple-shm"], "application", 5n);
    const [window] = await world.waitForWindows((w) => w.length === 1, "simple-shm");
    // simple-shm keeps its own 250x250 buffer at the window's origin, whatever size the layout configured.
    const box = { x: window!.x, y: window!.y, width: 250, height: 250 };
    const shown = await until(() => world.screenshot(), (p) => differingPixels(empty, p, box) > (250 * 250) / 2, "simple-shm's pixels");
    expect(differingPixels(empty, shown, { x: 600, y: 400, width: 100, height: 100 })).toBe(0); // nothing drawn there
    await world.call("CloseSession", "t", [5n]);
    await world.waitForWindows((w) => w.length === 0, "simple-shm gone");
  });

  test("click to focus: the shell's page under the pointer takes focus, the app stays shown; a click on the app takes it back", async () => {
    // The shell: a terminal filling the output at the bottom. The app: simple-shm, 250x250 at the area's origin,
    // so the shell shows around it.
    const shellOut = join(dir, "shell-out");
    writeFileSync(join(dir, "shell-sh"), `#!/bin/sh\nexec cat > '${shellOut}'\n`, { mode: 0o755 });
    await world.spawnClient(["weston-terminal", `--shell=${join(dir, "shell-sh")}`], "shell", 0n);
    await world.waitForWindows((w) => w.some((row) => row.role === "shell"), "the shell");
    await until(() => existsSync(shellOut), Boolean, "the shell's cat");
    await world.spawnClient(["weston-simple-shm"], "application", 6n);
    let windows = await world.waitForWindows((w) => w.some((row) => row.session === 6n && row.focused), "simple-shm focused");
    const shell = windows.find((w) => w.role === "shell")!;
    const app = windows.find((w) => w.session === 6n)!;

    const focus = await world.collectSignals("FocusChanged");
    try {
      await world.testInput("Click", "dd", [900, 500]);
      expect(await focus.next((body) => body[0] === shell.id)).toEqual([shell.id, 0n]);
      windows = await world.listWindows();
      expect(windows.find((w) => w.id === shell.id)!.focused).toBe(true);
      expect(windows.find((w) => w.id === app.id)!.focused).toBe(false);
      // The shell has the keyboard now: typing reaches its terminal.
      await world.testInput("TypeText", "s", ["to the shell\n"]);
      await until(() => readFileSync(shellOut, "utf8"), (t) => t === "to the shell\n", "the shell's line");
      // The app is still shown: its pixels are still there (simple-shm animates a pattern with black in it, so
      // any of a grid of points over its window will do).
      const shot = await world.screenshot();
      const lit = [40, 90, 140, 190].flatMap((dx) => [40, 90, 140, 190].map((dy) => pixelAt(shot, app.x + dx, app.y + dy))).some(([r, g, b]) => r !== 0 || g !== 0 || b !== 0);
      expect(lit).toBe(true);

      await world.testInput("Click", "dd", [app.x + 100, app.y + 100]);
      expect(await focus.next((body) => body[0] === app.id)).toEqual([app.id, 6n]);
      expect((await world.listWindows()).find((w) => w.id === app.id)!.focused).toBe(true);

      // Clicking the focused window again changes nothing (no second FocusChanged).
      await world.testInput("Click", "dd", [app.x + 50, app.y + 50]);
      await world.testInput("Click", "dd", [900, 500]);
      await focus.next((body) => body[0] === shell.id && focus.received.filter((b) => b[0] === shell.id).length === 2);
      expect(focus.received.map((body) => body[0])).toEqual([shell.id, app.id, shell.id]);
    } finally {
      await focus.stop();
    }
  });

  test("PointerButton presses and releases where the pointer is", async () => {
    const windows = await world.listWindows();
    const app = windows.find((w) => w.session === 6n)!;
    await world.testInput("PointerMove", "dd", [app.x + 10, app.y + 10]);
    const focus = await world.collectSignals("FocusChanged");
    try {
      await world.testInput("PointerButton", "ub", [BTN_LEFT, true]);
      await world.testInput("PointerButton", "ub", [BTN_LEFT, false]);
      expect(await focus.next((body) => body[0] === app.id)).toEqual([app.id, 6n]);
    } finally {
      await focus.stop();
    }
  });
});
