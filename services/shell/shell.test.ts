/**
 * weft-shell end to end: the real compositor (headless, test input), the real appd with the signed demo apps,
 * the real shell with its Chromium and weft-panel, all on one private bus. The page is driven the way a person
 * would: TestInput clicks at the boxes Shell1.ElementRect reports, swipes through the compositor's recogniser.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Variant } from "dbus-next";
import { connectBus, contractPath, type BusConnection } from "../common/bus/index.ts";
import { expectIntrospectionMatchesContract } from "../../testing/bus.ts";
import { processAlive } from "../common/os/processes.ts";
import { parsePageMessage } from "./desktop.ts";
import { inspectionEnabled } from "./interface.ts";
import { EXIT_CHROMIUM_DIED } from "./main.ts";
import { childrenOf, COUNTER, NOTES, processesMentioning, profileDirOf, ShellWorld, untilShown, type ShellProcess } from "../../testing/shell.ts";
import { Compositor, Compositor1, errorName, Notifications, NotificationsService, Shell, Shell1 } from "../../protocol/dbus/index.ts";

const headless = { headless: new Variant("b", true) };
let world: ShellWorld;
let shell: ShellProcess;

beforeAll(async () => {
  world = await ShellWorld.start();
  shell = await world.startShell();
}, 120_000);

afterAll(async () => {
  await world?.close();
}, 60_000);

async function expectError(promise: Promise<unknown>, name: string, text?: string): Promise<void> {
  const error = (await promise.then(() => undefined, (e) => e)) as { type?: string; message?: string } | undefined;
  expect(error?.type).toBe(name);
  if (text !== undefined) expect(error?.message).toContain(text);
}

/** Collects a signal's bodies; `next(predicate)` resolves with the first matching one (already received included). */
async function collect(iface: string, path: string, member: string) {
  const received: unknown[][] = [];
  const subscription = await world.client.subscribeSignal({ interface: iface, path, member }, (body) => received.push(body));
  return {
    received,
    next: (predicate: (body: unknown[]) => boolean, what: string) => untilShown(() => received.find(predicate), what),
    close: () => subscription.close(),
  };
}

async function sessions(): Promise<[bigint, string, string, string][]> {
  const [rows] = (await world.appdCall("ListSessions")) as [[bigint, string, string, string][]];
  return rows;
}

async function launcherOpen(): Promise<boolean> {
  return world.elementRect("#launcher:not([hidden])").then(
    () => true,
    (error) => {
      if ((error as { type?: string }).type === errorName(Shell1, "NotFound")) return false;
      throw error;
    },
  );
}

describe("contracts", () => {
  test(`${Shell.busName} and ${NotificationsService.busName} match their contracts`, async () => {
    await expectIntrospectionMatchesContract({ address: world.appdWorld.bus.address, destination: Shell.busName, path: "/org/weft/Shell1", contract: contractPath(Shell1.name) });
    await expectIntrospectionMatchesContract({
      address: world.appdWorld.bus.address,
      destination: NotificationsService.busName,
      path: "/org/freedesktop/Notifications",
      contract: contractPath(Notifications.name),
    });
  });
});

describe("windows", () => {
  test("the shell's window maps with role shell and fills the output; the taskbar strip shrinks app windows to 1280x672", async () => {
    const windows = await world.waitForWindows((ws) => ws.some((w) => w.role === "shell" && w.session === 0n), "the shell's window");
    expect(windows.find((w) => w.role === "shell")).toMatchObject({ session: 0n, x: 0, y: 0, width: 1280, height: 720 });
    // The page's taskbar is the bottom 48 px of that window, where the reservation leaves the shell visible.
    expect(await world.elementRect("#taskbar")).toEqual([0, 672, 1280, 48]);
    const app = await world.spawnAppClient(["weston-simple-shm"], 900n);
    const withApp = await world.waitForWindows((ws) => ws.some((w) => w.session === 900n), "weston-simple-shm's window");
    expect(withApp.find((w) => w.session === 900n)).toMatchObject({ role: "application", x: 0, y: 0, width: 1280, height: 672 });
    app.kill("SIGKILL");
    await app.exited;
    await world.waitForWindows((ws) => !ws.some((w) => w.session === 900n), "the app window gone");
  }, 60_000);
});

describe("launcher", () => {
  test("installed apps appear as tiles with their names; OpenLauncher/CloseLauncher show and hide it; Escape closes it", async () => {
    await world.shell("OpenLauncher");
    await untilShown(async () => ((await launcherOpen()) ? true : undefined), "the launcher open");
    expect(await untilShown(async () => (await world.elementText(`[data-app-id="${COUNTER}"]`)).includes("Counter") || undefined, "the counter tile")).toBe(true);
    expect(await world.elementText(`[data-app-id="${NOTES}"] .tile-label`)).toBe("Notes");
    await world.shell("CloseLauncher");
    await untilShown(async () => ((await launcherOpen()) ? undefined : true), "the launcher closed");
    // Opened with the taskbar button (a real click), closed with Escape (a real key; the shell has the keyboard at home).
    await world.click("#launcher-button");
    await untilShown(async () => ((await launcherOpen()) ? true : undefined), "the launcher open after the button");
    // KEY_ESC, pressed until the launcher is closed: Chromium may take the keyboard focus a moment after the click.
    await untilShown(async () => {
      await world.testInput("Key", "ub", [1, true]);
      await world.testInput("Key", "ub", [1, false]);
      return (await launcherOpen()) ? undefined : true;
    }, "the launcher closed by Escape");
  }, 60_000);

  test("clicking a tile launches the app (AppD1 shows the session) and a taskbar entry appears; × terminates it", async () => {
    const before = new Set((await sessions()).map(([id]) => id));
    await world.shell("OpenLauncher");
    await world.click(`[data-app-id="${COUNTER}"]`);
    const [id] = await untilShown(async () => (await sessions()).find(([sid, app, state]) => !before.has(sid) && app === COUNTER && state === "running"), "a running counter session");
    expect(await launcherOpen()).toBe(false);
    const entry = `[data-session-id="${id}"]`;
    expect(await untilShown(async () => (await world.elementText(entry)).includes("Counter") || undefined, "the session's taskbar entry")).toBe(true);

    await world.click(`${entry} .terminate`);
    await untilShown(async () => ((await sessions()).some(([sid, , state]) => sid === id && state !== "stopped") ? undefined : true), "the session stopped");
    await untilShown(async () => (await world.elementRect(entry).then(() => undefined, () => true)), "the entry gone");
  }, 90_000);

  test("clicking a session's entry focuses it (FocusChanged); a swipe up opens the launcher, a swipe down goes home", async () => {
    const [id] = (await world.appdCall("Launch", "sa{sv}", [COUNTER, headless])) as [bigint, string];
    const app = await world.spawnAppClient(["weston-simple-shm"], id);
    const focus = await collect(Compositor1.name, Compositor.path, "FocusChanged");
    try {
      await world.waitForWindows((ws) => ws.some((w) => w.session === id && w.focused), "the app's window focused");
      await world.compositorCall("FocusSession", "t", [0n]);
      await focus.next((body) => body[1] === 0n, "home");
      focus.received.length = 0;

      await world.click(`[data-session-id="${id}"]`);
      await focus.next((body) => body[1] === id, "FocusChanged to the session");
      expect((await world.listWindows()).find((w) => w.session === id)).toMatchObject({ focused: true, height: 672 });

      // Three fingers up: the launcher opens, over the home screen.
      focus.received.length = 0;
      await world.testInput("Swipe", "udd", [3, 0, -150]);
      await untilShown(async () => ((await launcherOpen()) ? true : undefined), "the launcher opened by the swipe");
      await focus.next((body) => body[1] === 0n, "home for the launcher");

      // Back to the app, then three fingers down: home, launcher closed.
      await world.compositorCall("FocusSession", "t", [id]);
      await focus.next((body) => body[1] === id, "the app again");
      focus.received.length = 0;
      await world.testInput("Swipe", "udd", [3, 0, 150]);
      await focus.next((body) => body[1] === 0n, "home after a swipe down");
      await untilShown(async () => ((await launcherOpen()) ? undefined : true), "the launcher closed");
      // A two-finger swipe is not a navigation gesture.
      await world.testInput("Swipe", "udd", [2, 0, -150]);
      await Bun.sleep(300);
      expect(await launcherOpen()).toBe(false);
    } finally {
      await focus.close();
      app.kill("SIGKILL");
      await world.appdCall("Terminate", "t", [id]);
    }
  }, 90_000);
});

describe("notifications", () => {
  const notify = (args: unknown[], connection?: BusConnection) =>
    (connection ?? world.client).call({
      destination: NotificationsService.busName,
      path: "/org/freedesktop/Notifications",
      interface: Notifications.name,
      member: "Notify",
      signature: "susssasa{sv}i",
      body: args,
    });
  const closeNotification = (id: number, connection?: BusConnection) =>
    (connection ?? world.client).call({ destination: NotificationsService.busName, path: "/org/freedesktop/Notifications", interface: Notifications.name, member: "CloseNotification", signature: "u", body: [id] });

  test("a notification (as the runtime's weft:app/notifications sends it) appears as a toast with its text, as text", async () => {
    const [id] = (await notify(["Notes", 0, "document-save", "Saved", "Your note <b>is</b> safe", [], {}, 0])) as [number];
    expect(id).toBeGreaterThan(0);
    const toast = `[data-notification-id="${id}"]`;
    const text = await untilShown(async () => world.elementText(toast), "the toast");
    expect(text).toContain("Saved");
    expect(text).toContain("Your note <b>is</b> safe");
    await expectError(world.elementRect(`${toast} b`), errorName(Shell1, "NotFound"));
    // The toast is at the top right, 360 px wide.
    const [x, y, width] = await world.elementRect(toast);
    expect([x + width, width]).toEqual([1268, 360]);
    expect(y).toBeLessThan(100);

    const closed = await collect(Notifications.name, NotificationsService.path, "NotificationClosed");
    try {
      await closeNotification(id);
      await closed.next((body) => body[0] === id && body[1] === 3, "NotificationClosed(id, 3)");
      await untilShown(async () => world.elementRect(toast).then(() => undefined, () => true), "the toast gone");
      // Expiry: closed with reason 1 after its timeout.
      const [short] = (await notify(["t", 0, "", "Brief", "", [], {}, 200])) as [number];
      await closed.next((body) => body[0] === short && body[1] === 1, "NotificationClosed(short, 1)");
      // Dismissed by the user: a click on its ×, reason 2.
      const [kept] = (await notify(["t", 0, "", "Click me away", "", [], {}, 0])) as [number];
      await world.compositorCall("FocusSession", "t", [0n]);
      await world.click(`[data-notification-id="${kept}"] .toast-close`);
      await closed.next((body) => body[0] === kept && body[1] === 2, "NotificationClosed(kept, 2)");
    } finally {
      await closed.close();
    }
  }, 60_000);

  test("replaces_id replaces the sender's own notification only; capabilities and server information", async () => {
    const [id] = (await notify(["a", 0, "", "First", "", [], {}, 0])) as [number];
    expect(await notify(["a", id, "", "Second", "", [], {}, 0])).toEqual([id]);
    await untilShown(async () => ((await world.elementText(`[data-notification-id="${id}"]`)).includes("Second") ? true : undefined), "the replaced text");
    const other = await connectBus({ address: world.appdWorld.bus.address });
    try {
      const [otherId] = (await notify(["b", id, "", "Not yours", "", [], {}, 0], other)) as [number];
      expect(otherId).not.toBe(id);
      await expectError(closeNotification(id, other), errorName(Notifications, "NotFound"));
      await closeNotification(otherId, other);
    } finally {
      other.close();
    }
    await closeNotification(id);
    await expectError(closeNotification(id), errorName(Notifications, "NotFound"));
    const call = (member: string) => world.call(NotificationsService.busName, Notifications.name, member);
    expect(await call("GetCapabilities")).toEqual([["body"]]);
    expect(await call("GetServerInformation")).toEqual(["WEFT Shell", "WEFT", "0.1.0", "1.2"]);
  }, 30_000);

  test("hostile Notify arguments are InvalidArgs naming what is wrong; the oldest is evicted past 128 open", async () => {
    const invalid = errorName(Notifications, "InvalidArgs");
    await expectError(notify(["x".repeat(257), 0, "", "s", "", [], {}, -1]), invalid, "app_name");
    await expectError(notify(["a", 0, "i".repeat(1025), "s", "", [], {}, -1]), invalid, "app_icon");
    await expectError(notify(["a", 0, "", "s".repeat(1025), "", [], {}, -1]), invalid, "summary");
    await expectError(notify(["a", 0, "", "s", "b".repeat(8193), [], {}, -1]), invalid, "body");
    await expectError(notify(["a", 0, "", "s", "", ["only-one"], {}, -1]), invalid, "pairs");
    await expectError(notify(["a", 0, "", "s", "", Array(66).fill("x"), {}, -1]), invalid, "actions");
    await expectError(notify(["a", 0, "", "s", "", ["x".repeat(257), "y"], {}, -1]), invalid, "action");
    const hints = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, new Variant("s", "v")]));
    await expectError(notify(["a", 0, "", "s", "", [], hints, -1]), invalid, "hints");
    await expectError(notify(["a", 0, "", "s", "", [], {}, -2]), invalid, "expire_timeout");
    await expectError(world.call(NotificationsService.busName, Notifications.name, "Notify", "s", ["only"]), "org.freedesktop.DBus.Error.InvalidArgs");

    // Control characters become spaces; the page still shows the text.
    const [id] = (await notify(["a", 0, "", "bell\u0007and\u001bescape", "line\nbreak", [], {}, 0])) as [number];
    expect(await untilShown(() => world.elementText(`[data-notification-id="${id}"] .toast-summary`), "the toast")).toBe("bell and escape");

    // 128 open at most: the 129th evicts the oldest with reason 4.
    const closed = await collect(Notifications.name, NotificationsService.path, "NotificationClosed");
    try {
      const ids: number[] = [];
      for (let i = 0; i < 129; i++) ids.push(((await notify(["flood", 0, "", `n${i}`, "", [], {}, 0])) as [number])[0]);
      await closed.next((body) => body[1] === 4, "an eviction");
      expect(closed.received.filter((body) => body[1] === 4).length).toBeGreaterThanOrEqual(1);
      for (const flood of ids) await closeNotification(flood).catch(() => {});
    } finally {
      await closed.close();
    }
  }, 60_000);
});

describe("inspection", () => {
  test("hostile selectors are InvalidArgs, missing elements NotFound, and a selector never runs as code", async () => {
    const invalid = errorName(Shell1, "InvalidArgs");
    await expectError(world.elementRect(""), invalid, "empty");
    await expectError(world.elementRect("   "), invalid, "empty");
    await expectError(world.elementRect("a".repeat(513)), invalid, "513");
    await expectError(world.elementText("div\u0001"), invalid, "control");
    await expectError(world.elementRect("[[["), invalid, "not a valid CSS selector");
    await expectError(world.elementText("#no-such-element"), errorName(Shell1, "NotFound"));
    const injection = `"); document.body.setAttribute("data-hacked", "1"); ("`;
    await expectError(world.elementRect(injection), invalid);
    await expectError(world.elementText(`'); document.body.setAttribute('data-hacked', '1'); ('`), invalid);
    await expectError(world.elementRect("body[data-hacked]"), errorName(Shell1, "NotFound"));
    await expectError(world.shell("ElementRect", "s", ["x".repeat(70_000)]), "org.freedesktop.DBus.Error.LimitsExceeded");
    await expectError(world.shell("ElementRect", "u", [1]), "org.freedesktop.DBus.Error.InvalidArgs");
    expect(await world.elementText("#clock")).toMatch(/^\d\d:\d\d$/);
  });

  test("inspection is on only with WEFT_SHELL_INSPECT=1 exactly", () => {
    expect(inspectionEnabled({ WEFT_SHELL_INSPECT: "1" })).toBe(true);
    for (const value of [undefined, "", "0", "true", "yes", " 1"]) expect(inspectionEnabled({ WEFT_SHELL_INSPECT: value })).toBe(false);
  });
});

describe("page messages", () => {
  test("only well-formed requests pass: unknown types, extra keys, bad ids and app ids are refused", () => {
    expect(parsePageMessage(`{"type":"hello"}`).message).toEqual({ type: "hello" });
    expect(parsePageMessage(`{"type":"focus","sessionId":"18446744073709551615"}`).message).toEqual({ type: "focus", sessionId: 18446744073709551615n });
    expect(parsePageMessage(`{"type":"launch","appId":"org.weft.demo.counter"}`).message).toEqual({ type: "launch", appId: COUNTER });
    for (const bad of [
      "not json",
      "null",
      "[]",
      `{"type":"exec","command":"rm -rf /"}`,
      `{"type":"hello","extra":1}`,
      `{"type":"launch","appId":"../../etc"}`,
      `{"type":"launch","appId":42}`,
      `{"type":"terminate","sessionId":"0"}`,
      `{"type":"terminate","sessionId":"-1"}`,
      `{"type":"terminate","sessionId":"18446744073709551616"}`,
      `{"type":"terminate","sessionId":12}`,
      `{"type":"focus","sessionId":"1e3"}`,
      `{"type":"launcher","open":"yes"}`,
      `{"type":"dismiss","id":0}`,
      `{"type":"dismiss","id":4294967296}`,
      `{"type":"dismiss","id":1.5}`,
      `{"__proto__":{"type":"hello"}}`,
    ]) {
      expect(parsePageMessage(bad).message).toBeUndefined();
    }
  });
});

describe("lifetime", () => {
  test("SIGTERM: exit 0, Chromium and weft-panel gone, names released, the reservation lifted", async () => {
    const children = childrenOf(shell.process.pid);
    expect(children.map((c) => c.comm).sort()).toEqual(["chromium", "weft-panel"]);
    const profile = profileDirOf(children.find((c) => c.comm === "chromium")!.pid);
    const app = await world.spawnAppClient(["weston-simple-shm"], 901n);
    await world.waitForWindows((ws) => ws.some((w) => w.session === 901n && w.height === 672), "an app window above the strip");
    shell.process.kill("SIGTERM");
    expect(await shell.process.exited).toBe(0);
    await untilShown(() => (children.every((c) => !processAlive(c.pid)) && processesMentioning(profile).length === 0 ? true : undefined), "Chromium and weft-panel gone");
    expect(existsSync(profile)).toBe(false);
    expect(await world.client.nameHasOwner(Shell.busName)).toBe(false);
    expect(await world.client.nameHasOwner(NotificationsService.busName)).toBe(false);
    await world.waitForWindows((ws) => ws.some((w) => w.session === 901n && w.height === 720) && !ws.some((w) => w.role === "shell"), "the app window full height, no shell window");
    app.kill("SIGKILL");
    await app.exited;
  }, 60_000);

  test("without WEFT_SHELL_INSPECT inspection is NotEnabled; killing the shell's Chromium makes it exit 4 and leave nothing behind", async () => {
    const second = await world.startShell({ WEFT_SHELL_INSPECT: "0" });
    await expectError(world.elementRect("#clock"), errorName(Shell1, "NotEnabled"), "WEFT_SHELL_INSPECT=1");
    await world.shell("OpenLauncher"); // the rest of Shell1 works
    const children = await untilShown(() => {
      const found = childrenOf(second.process.pid);
      return found.length === 2 ? found : undefined;
    }, "chromium and weft-panel");
    const chromium = children.find((c) => c.comm === "chromium")!;
    const panel = children.find((c) => c.comm === "weft-panel")!;
    const profile = profileDirOf(chromium.pid);
    expect(processesMentioning(profile).length).toBeGreaterThan(1); // the browser and its helpers
    process.kill(chromium.pid, "SIGKILL");
    expect(await second.process.exited).toBe(EXIT_CHROMIUM_DIED);
    await untilShown(() => (processesMentioning(profile).length === 0 ? true : undefined), "every Chromium process gone");
    await untilShown(() => (processAlive(panel.pid) ? undefined : true), "weft-panel gone");
    expect(await world.client.nameHasOwner(Shell.busName)).toBe(false);
    await world.waitForWindows((ws) => !ws.some((w) => w.role === "shell"), "no shell window left");
  }, 90_000);

  test("a SIGKILLed shell leaves no Chromium and no weft-panel (the DevTools pipe and stdin close, PR_SET_PDEATHSIG)", async () => {
    const third = await world.startShell();
    const children = await untilShown(() => {
      const found = childrenOf(third.process.pid);
      return found.length === 2 ? found : undefined;
    }, "chromium and weft-panel");
    const profile = profileDirOf(children.find((c) => c.comm === "chromium")!.pid);
    third.process.kill("SIGKILL");
    await third.process.exited;
    await untilShown(() => (children.every((c) => !processAlive(c.pid)) && processesMentioning(profile).length === 0 ? true : undefined), "Chromium and weft-panel gone");
    await world.waitForWindows((ws) => !ws.some((w) => w.role === "shell"), "no shell window left");
  }, 90_000);
});
