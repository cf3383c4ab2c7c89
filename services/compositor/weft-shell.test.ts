/**
 * zweft_shell_unstable_v1 end to end: the real compositor service with our protocol test client
 * (native/compositor/tools/weft-shell-probe.c) on connections from OpenClient, and Debian's weston-simple-shm
 * as the application whose window moves focus and fills the application area.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pixelAt } from "../common/image/png.ts";
import { PROBE, ScriptProbe as Probe, until, type ProbeEvent } from "../../testing/shell-probe.ts";
import { CompositorWorld, type SpawnedClient, type WindowRow } from "../../testing/compositor.ts";
const OUTPUT = { x: 0, y: 0, width: 1280, height: 720 };
const MAXIMIZED = 1;
const ACTIVATED = 4;

let world: CompositorWorld;
let logDir: string;

beforeAll(async () => {
  world = await CompositorWorld.start();
  logDir = mkdtempSync(join(tmpdir(), "weft-shell-probe-"));
});

afterAll(async () => {
  await world?.close();
  rmSync(logDir, { recursive: true, force: true });
});

const ScriptProbe = { start: (role: "shell" | "application", session: bigint) => Probe.start(world, logDir, role, session) };

/** A built-in scenario to its end (or its protocol error); its JSON lines. */
async function scenario(name: string, role: "shell" | "application" = "shell"): Promise<{ exitCode: number | null; events: ProbeEvent[] }> {
  const client = await world.spawnClient([PROBE, name], role, 1n);
  const { stdout } = await client.output;
  const events = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as ProbeEvent);
  return { exitCode: client.process.exitCode, events };
}

async function simpleShm(role: "shell" | "application", session: bigint): Promise<{ client: SpawnedClient; window: WindowRow }> {
  const client = await world.spawnClient(["weston-simple-shm"], role, session);
  const windows = await world.waitForWindows((ws) => ws.some((w) => w.session === session && w.role === role), `weston-simple-shm of session ${session}`);
  return { client, window: windows.find((w) => w.session === session && w.role === role)! };
}

describe("zweft_shell_manager_v1 is privileged", () => {
  test("a shell-role client binds it at version 2", async () => {
    const { events } = await scenario("globals", "shell");
    expect(events).toEqual([{ event: "global", present: true, version: 2 }]);
  });

  test("an application-role client does not see it", async () => {
    const { events } = await scenario("globals", "application");
    expect(events).toEqual([{ event: "global", present: false, version: 0 }]);
  });
});

describe("protocol errors", () => {
  const cases: [string, string, number, string[]][] = [
    // scenario, interface of the error, code, events expected before it
    ["bad-role", "zweft_shell_manager_v1", 2, []],
    ["invalid-geometry", "zweft_shell_manager_v1", 3, []],
    ["invalid-set-geometry", "zweft_shell_window_v1", 1, ["configure", "focus_changed", "done"]],
    ["bad-metadata-role", "zweft_shell_window_v1", 2, ["configure", "focus_changed", "done"]],
    ["surface-with-role", "zweft_shell_manager_v1", 0, []],
    ["surface-twice", "zweft_shell_manager_v1", 1, ["configure", "focus_changed", "done"]],
    // window_closed when the surface dies, then any request is defunct_window
    ["defunct-after-close", "zweft_shell_window_v1", 0, ["configure", "focus_changed", "done", "window_closed", "done"]],
  ];
  for (const [name, iface, code, before] of cases) {
    test(`${name}: ${iface} error ${code}`, async () => {
      const { exitCode, events } = await scenario(name);
      expect(events.at(-1)).toMatchObject({ event: "protocol_error", interface: iface, code });
      expect(events.slice(1, -1).map((e) => e.event)).toEqual(before);
      expect(exitCode).toBe(2);
    });
  }

  test("a surface may back a new window once its window is destroyed", async () => {
    const { exitCode, events } = await scenario("surface-reuse");
    expect(exitCode).toBe(0);
    expect(events.find((e) => e.window === "b" && e.event === "configure")).toMatchObject({ x: 10, y: 10, width: 50, height: 50 });
  });

  test("manager destroy closes every window, which are defunct afterwards", async () => {
    const { exitCode, events } = await scenario("manager-destroy");
    const closed = events.filter((e) => e.event === "window_closed").map((e) => e.window);
    expect(closed.sort()).toEqual(["a", "b"]);
    expect(events.at(-1)).toMatchObject({ event: "protocol_error", interface: "zweft_shell_window_v1", code: 0 });
    expect(exitCode).toBe(2);
  });

  test("the compositor keeps serving after all of that", async () => {
    const { events } = await scenario("globals", "shell");
    expect(events[0]).toMatchObject({ present: true });
  });
});

describe("geometry", () => {
  test("configure carries the geometry in use: clamped into the output, maximized when covering it", async () => {
    const probe = await ScriptProbe.start("shell", 20n);
    try {
      expect(await probe.run("create a normal none 100 50 200 100")).toEqual([
        { event: "configure", window: "a", x: 100, y: 50, width: 200, height: 100, state: 0 },
        { event: "focus_changed", window: "a", focused: 0 },
      ]);
      const moves: [string, object][] = [
        ["geometry a -50 -70 200 100", { x: 0, y: 0, width: 200, height: 100, state: 0 }],
        ["geometry a 1200 700 200 100", { x: 1080, y: 620, width: 200, height: 100, state: 0 }],
        ["geometry a 2147483000 2147483000 300 300", { x: 980, y: 420, width: 300, height: 300, state: 0 }],
        ["geometry a 10 10 5000 5000", { ...OUTPUT, state: MAXIMIZED }],
        ["geometry a 0 0 1280 720", { ...OUTPUT, state: MAXIMIZED }], // unchanged, still answered
        ["geometry a 0 0 1280 719", { x: 0, y: 0, width: 1280, height: 719, state: 0 }],
      ];
      for (const [command, expected] of moves) {
        const events = await probe.run(command);
        expect(events).toEqual([{ event: "configure", window: "a", ...expected }]);
      }
      expect(await probe.run("create big overlay none -100 -100 99999 99999")).toContainEqual({ event: "configure", window: "big", ...OUTPUT, state: MAXIMIZED });
    } finally {
      await probe.close();
    }
  });
});

describe("panels", () => {
  test("a panel strip reserves its edge: the application window shrinks, the panel's colour shows, and both go away with the panel", async () => {
    const probe = await ScriptProbe.start("shell", 30n);
    const app = await simpleShm("application", 31n);
    try {
      expect(app.window).toMatchObject(OUTPUT);
      // A 40-px green strip along the bottom edge, with a surface painted green.
      await probe.run("create bar panel #00ff00 0 680 1280 40");
      expect(probe.lastConfigure("bar")).toMatchObject({ x: 0, y: 680, width: 1280, height: 40, state: 0 });
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.height === 680 && w.y === 0 && w.width === 1280), "the app window above the panel");
      const shot = await until(async () => {
        const pixels = await world.screenshot();
        return pixelAt(pixels, 640, 700).join() === "0,255,0" ? pixels : undefined;
      }, "the green panel in a screenshot");
      expect(pixelAt(shot, 5, 719)).toEqual([0, 255, 0]);
      expect(pixelAt(shot, 640, 679)).not.toEqual([0, 255, 0]); // the app's last row, not the panel

      // A strip that does not span the edge reserves nothing.
      await probe.run("geometry bar 100 680 500 40");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.height === 720), "the app window back to the full output");
      // Back to a strip, then the role changes away from panel: the reservation follows the role.
      await probe.run("geometry bar 0 680 1280 40");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.height === 680), "the reservation again");
      await probe.run("metadata bar Bar normal");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.height === 720), "no reservation for a normal window");
      await probe.run("metadata bar Bar panel");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.height === 680), "the panel's reservation back");

      // A surface-less panel on the left edge reserves too (the reservation/metadata-only window).
      await probe.run("create side panel none 0 0 100 720");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.x === 100 && w.width === 1180 && w.height === 680), "left and bottom reserved");

      // The probe disconnects: every window it had is gone, and so are the reservations.
      await probe.close();
      await world.waitForWindows((ws) => ws.some((w) => w.session === 31n && w.x === 0 && w.width === 1280 && w.height === 720), "no reservation after the shell client left");
      await until(async () => (pixelAt(await world.screenshot(), 640, 700).join() !== "0,255,0" ? true : undefined), "the panel's pixels gone");
    } finally {
      await probe.close();
      await app.client.kill();
      await world.waitForWindows((ws) => !ws.some((w) => w.session === 31n), "the app window gone");
    }
  });

  test("when the surface dies the window closes and its reservation goes", async () => {
    const probe = await ScriptProbe.start("shell", 35n);
    const app = await simpleShm("application", 36n);
    try {
      await probe.run("create bar panel #0000ff 0 0 1280 50");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 36n && w.y === 50 && w.height === 670), "the app below a top panel");
      expect(await probe.run("destroy-surface bar")).toEqual([{ event: "window_closed", window: "bar" }]);
      await world.waitForWindows((ws) => ws.some((w) => w.session === 36n && w.y === 0 && w.height === 720), "the reservation gone with the surface");
      expect(probe.client.process.exitCode).toBeNull(); // no error: destroy is still allowed
      expect(await probe.run("destroy bar")).toEqual([]);
    } finally {
      await probe.close();
      await app.client.kill();
      await world.waitForWindows((ws) => !ws.some((w) => w.session === 36n), "the app window gone");
    }
  });
});

describe("focus", () => {
  test("focus_changed and the activated bit follow the keyboard between the shell's session and an app", async () => {
    const shellProbe = await ScriptProbe.start("shell", 40n);
    const otherShell = await ScriptProbe.start("shell", 41n);
    try {
      // Surface-less windows: "my session has the keyboard".
      await shellProbe.run("create bar panel none 0 0 1280 30");
      await shellProbe.run("create own normal bare 0 40 300 300"); // a surface that never has the keyboard
      await otherShell.run("create bar panel none 0 0 1280 30");
      expect(shellProbe.lastFocus("bar")).toBe(0);

      // The shell session's own toplevel takes the keyboard (nothing else has it): its panel window is focused.
      const home = await simpleShm("shell", 40n);
      await shellProbe.waitFor((e) => e.window === "bar" && e.event === "focus_changed" && e.focused === 1, "the shell's panel focused");
      expect(shellProbe.lastConfigure("bar")!.state).toBe(ACTIVATED);
      expect(otherShell.lastFocus("bar")).toBe(0); // another session's window does not care

      // An application window comes up: focus leaves the shell.
      const app = await simpleShm("application", 42n);
      await shellProbe.waitFor((e) => e.window === "bar" && e.event === "focus_changed" && e.focused === 0, "the shell's panel unfocused");
      await until(() => (shellProbe.lastConfigure("bar")!.state === 0 ? true : undefined), "activated dropped");

      // Home (FocusSession 0) and back, through the D-Bus surface.
      let mark = shellProbe.events().length;
      await world.call("FocusSession", "t", [0n]);
      await shellProbe.waitFor((e) => e.window === "bar" && e.event === "focus_changed" && e.focused === 1, "focus back home", mark);
      mark = shellProbe.events().length;
      await world.call("FocusSession", "t", [42n]);
      await shellProbe.waitFor((e) => e.window === "bar" && e.event === "focus_changed" && e.focused === 0, "focus to the app again", mark);

      // focus_changed is sent on changes only: 0, 1, 0, 1, 0.
      expect(shellProbe.of("bar", "focus_changed").map((e) => e.focused)).toEqual([0, 1, 0, 1, 0]);
      expect(shellProbe.of("own", "focus_changed").map((e) => e.focused)).toEqual([0]);
      expect(otherShell.of("bar", "focus_changed").map((e) => e.focused)).toEqual([0]);

      await app.client.kill();
      await home.client.kill();
      await world.waitForWindows((ws) => !ws.some((w) => w.session === 42n || w.session === 40n), "the clients' windows gone");
    } finally {
      await shellProbe.close();
      await otherShell.close();
    }
  });
});

describe("presentation feedback", () => {
  test("a commit of the window's surface is answered with the presented frame's time and the refresh period", async () => {
    const probe = await ScriptProbe.start("shell", 50n);
    try {
      await probe.run("create box overlay #ff00ff 600 300 80 80");
      const first = await probe.waitFor((e) => e.event === "presentation_feedback" && e.window === "box", "feedback for the first buffer");
      // Headless outputs run at 60 Hz.
      expect(first.refresh).toBe(16_666_666);
      expect(first.tv_nsec as number).toBeLessThan(1_000_000_000);
      const presented = BigInt(first.tv_sec as number) * 1_000_000_000n + BigInt(first.tv_nsec as number);
      expect(presented > 0n).toBe(true);
      const shot = await world.screenshot();
      expect(pixelAt(shot, 640, 340)).toEqual([255, 0, 255]);

      // No commit, no feedback: the count stays until the next paint, which gets exactly one more (later) event.
      const count = probe.of("box", "presentation_feedback").length;
      await probe.run("sync");
      expect(probe.of("box", "presentation_feedback").length).toBe(count);
      const mark = probe.events().length;
      await probe.run("paint box #00ffff");
      const second = await probe.waitFor((e) => e.event === "presentation_feedback" && e.window === "box", "feedback for the second buffer", mark);
      const secondTime = BigInt(second.tv_sec as number) * 1_000_000_000n + BigInt(second.tv_nsec as number);
      expect(secondTime > presented).toBe(true);

      // A window without a surface never gets one.
      await probe.run("create meta normal none 0 0 10 10");
      await probe.run("sync");
      expect(probe.of("meta", "presentation_feedback")).toEqual([]);
    } finally {
      await probe.close();
    }
  });
});

describe("navigation gestures", () => {
  // Gestures come from the real recogniser: TestInput.Swipe goes through the same path as a touchpad swipe.
  test("a recognised swipe reaches every live window bound at version 2, with fingers and displacement; none at version 1", async () => {
    const v2 = await ScriptProbe.start("shell", 1n);
    const v1 = await Probe.start(world, logDir, "shell", 1n, { WEFT_PROBE_MANAGER_VERSION: "1" });
    try {
      await v2.run("create panel panel none 0 0 1280 30");
      await v2.run("create page normal bare 0 0 100 100");
      await v2.run("create dead normal bare 0 0 100 100");
      await v2.run("destroy-surface dead"); // defunct: no gestures any more
      await v1.run("create old panel none 0 680 1280 40");
      await world.testInput("Swipe", "udd", [3, 120.5, -40.25]);
      await world.testInput("Swipe", "udd", [2, 0, 300]); // two fingers: not a navigation gesture
      await world.testInput("Swipe", "udd", [4, 0, 150]);
      await v2.waitFor((e) => e.event === "navigation_gesture" && e.window === "page" && e.fingers === 4, "both gestures on page");
      await v1.run("sync"); // anything sent to it before the sync's answer has arrived by now
      await v2.run("sync");
      const gestures = (probe: Probe) => probe.events().filter((e) => e.event === "navigation_gesture");
      expect(gestures(v2)).toEqual([
        { event: "navigation_gesture", window: "panel", type: 0, fingers: 3, dx: 120.5, dy: -40.25 },
        { event: "navigation_gesture", window: "page", type: 0, fingers: 3, dx: 120.5, dy: -40.25 },
        { event: "navigation_gesture", window: "panel", type: 0, fingers: 4, dx: 0, dy: 150 },
        { event: "navigation_gesture", window: "page", type: 0, fingers: 4, dx: 0, dy: 150 },
      ]);
      expect(v1.events()[0]?.version).toBe(1);
      expect(gestures(v1)).toEqual([]);
    } finally {
      await v2.close();
      await v1.close();
    }
  });
});
