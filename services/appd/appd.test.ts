/**
 * weft-appd end to end: the real appd process on a private dbus-daemon, launching the real weft-runtime with
 * the signed demo apps; the test's connections are the clients (and, headless, the UI ends).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Variant } from "dbus-next";
import { connectBus, contractPath, isBusError, type BusConnection, type ServiceClient } from "../common/bus/index.ts";
import { expectIntrospectionMatchesContract } from "../../testing/bus.ts";
import { DEMO_DIST, until } from "../../testing/runtime.ts";
import { LAST_SESSION_FILE } from "./last-session.ts";
import { NotifyListener } from "../../testing/notify-listener.ts";
import { processAlive } from "../common/os/processes.ts";
import { AppdWorld, FakeSystemd, type AppdProcess } from "../../testing/appd.ts";
import { outOfMemoryReason } from "./app-session.ts";
import { CPU_QUOTA_PER_SEC_USEC, MEMORY_MAX_BYTES } from "./units.ts";
import { AppD, AppD1, AppD1Session, errorName, Runtime, Runtime1, Shell } from "../../protocol/dbus/index.ts";

const COUNTER = "org.weft.demo.counter";
const NOTES = "org.weft.demo.notes";
const LONG = { timeoutMs: 60_000 };
const headless = { headless: new Variant("b", true) };

let world: AppdWorld;
let appd: AppdProcess;
let notifications: NotifyListener;
const stateChanges: [bigint, string, string][] = [];

beforeAll(async () => {
  world = new AppdWorld();
  await world.start();
  await world.install(join(DEMO_DIST, COUNTER));
  await world.install(join(DEMO_DIST, NOTES), { acceptCapabilities: true });
  notifications = new NotifyListener(join(world.root, "notify"));
  appd = await world.startAppd({ NOTIFY_SOCKET: notifications.address });
  await world.supervisor.subscribeSignal({ interface: AppD1.name, member: "SessionStateChanged" }, (body) => {
    stateChanges.push(body as [bigint, string, string]);
  });
});

afterAll(async () => {
  if (appd.process.exitCode === null) await appd.stop();
  notifications.close();
  await world.close();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

async function expectError(promise: Promise<unknown>, name: string, mentions?: string): Promise<void> {
  const error = await failure(promise);
  if (!isBusError(error, name)) throw new Error(`expected ${name}, got ${(error as { type?: string }).type ?? ""}: ${error.message}`);
  if (mentions !== undefined) expect(error.message).toContain(mentions);
}

function sessionClient(connection: BusConnection, path: string): ServiceClient {
  return connection.client(contractPath(AppD1Session.name), AppD1.name, { path });
}


/** A UI end: its own connection, collecting the runtime Message signals it receives with their senders. */
async function uiEnd(): Promise<{ bus: BusConnection; received: { sender: string; payload: string }[] }> {
  const bus = await connectBus({ address: world.bus.address });
  const received: { sender: string; payload: string }[] = [];
  await bus.subscribeSignal({ interface: Runtime1.name, member: "Message" }, (body, message) => {
    received.push({ sender: message.sender as string, payload: body[0] as string });
  });
  return { bus, received };
}

async function listSessions(): Promise<[bigint, string, string, string][]> {
  return (await appd.client.call("ListSessions")) as [bigint, string, string, string][];
}

describe("weft-appd", () => {
  test("it tells systemd READY=1; the manager matches its contract; ListInstalledApps lists the store", async () => {
    await notifications.waitFor("READY=1");
    await expectIntrospectionMatchesContract({ address: world.bus.address, destination: AppD1.name, path: AppD.path, contract: contractPath(AppD1.name) });
    expect(await appd.client.call("ListInstalledApps")).toEqual([
      [COUNTER, "Counter", "0.1.0"],
      [NOTES, "Notes", "0.1.0"],
    ]);
    expect(appd.logLines.some((l) => l.msg?.startsWith("systemd is not on the bus"))).toBe(false); // nothing launched yet
  });

  test("two headless counters in parallel: each UI end posts to its own runtime, sees only its own messages; Terminate leaves no process and no bus name", async () => {
    const first = await uiEnd();
    const second = await uiEnd();
    try {
      const [[id1, path1], [id2, path2]] = (await Promise.all([
        first.bus.client(contractPath(AppD1.name), AppD1.name).callWith(LONG, "Launch", COUNTER, headless),
        second.bus.client(contractPath(AppD1.name), AppD1.name).callWith(LONG, "Launch", COUNTER, headless),
      ])) as [[bigint, string], [bigint, string]];
      expect(id1).not.toBe(id2);
      expect(path1).toBe(`/org/weft/AppD1/sessions/${id1}`);

      const session1 = await sessionClient(first.bus, path1!).getAll();
      const session2 = await sessionClient(second.bus, path2!).getAll();
      expect(session1).toMatchObject({ SessionId: id1, AppId: COUNTER, State: "running", ExitReason: "", Headless: true, GrantedCapabilities: [], UnitName: "", UiPid: 0, StoppedAt: 0n });
      expect(session1.RuntimeBusName).toBe(Runtime.busName(id1));
      expect(session1.StartedAt as bigint).toBeGreaterThan(BigInt(Date.now() - 120_000) * 1000n);
      const pids = [session1.RuntimePid as number, session2.RuntimePid as number];
      for (const pid of pids) expect(processAlive(pid)).toBe(true);
      await expectIntrospectionMatchesContract({ address: world.bus.address, destination: AppD1.name, path: path1!, contract: contractPath(AppD1Session.name) });
      expect(appd.logLines.some((l) => l.msg?.startsWith("systemd is not on the bus"))).toBe(true);

      const runtime1 = first.bus.client(contractPath(Runtime1.name), session1.RuntimeBusName as string, { path: Runtime.path });
      const runtime2 = second.bus.client(contractPath(Runtime1.name), session2.RuntimeBusName as string, { path: Runtime.path });
      for (const command of ["increment", "increment", "increment", "get"]) await runtime1.call("Post", command);
      await runtime2.call("Post", "get");
      await until(() => first.received.length === 4 && second.received.length === 1, "the replies");
      expect(first.received.at(-1)!.payload).toBe('{"count":3}');
      expect(second.received.map((m) => m.payload)).toEqual(['{"count":0}']);

      // Not the UI end: the other session's UI end and appd's client are refused, and nothing changes.
      await expectError(second.bus.client(contractPath(Runtime1.name), session1.RuntimeBusName as string, { path: Runtime.path }).call("Post", "increment"), errorName(Runtime1, "AccessDenied"));
      await expectError(world.supervisor.client(contractPath(Runtime1.name), session1.RuntimeBusName as string, { path: Runtime.path }).call("Post", "reset"), errorName(Runtime1, "AccessDenied"));
      await runtime1.call("Post", "get");
      await until(() => first.received.length === 5, "the fifth reply");
      expect(first.received.at(-1)!.payload).toBe('{"count":3}');
      await Bun.sleep(100);
      expect(second.received.length).toBe(1); // never a message of the first session
      expect(new Set(first.received.map((m) => m.sender)).size).toBe(1);
      expect(first.received[0]!.sender).not.toBe(second.received[0]!.sender);

      expect((await listSessions()).filter(([id]) => id === id1 || id === id2).map(([, app, state]) => [app, state])).toEqual([
        [COUNTER, "running"],
        [COUNTER, "running"],
      ]);
      // Terminate: only the session's launcher (or the shell). Neither appd's other clients nor the other
      // session's launcher may end it, and it keeps running.
      const appdOf = (bus: BusConnection) => bus.client(contractPath(AppD1.name), AppD1.name);
      await expectError(appd.client.call("Terminate", id1), errorName(AppD1, "AccessDenied"), "launched it");
      await expectError(appdOf(second.bus).call("Terminate", id1), errorName(AppD1, "AccessDenied"), "close it from the taskbar");
      expect(appd.logLines.filter((l) => l.msg === "Terminate refused").length).toBe(2);
      expect(await sessionClient(world.supervisor, path1!).get("State")).toBe("running");
      await Promise.all([appdOf(first.bus).call("Terminate", id1), appdOf(second.bus).call("Terminate", id2)]);
      for (const pid of pids) expect(processAlive(pid)).toBe(false);
      expect(await world.supervisor.nameHasOwner(session1.RuntimeBusName as string)).toBe(false);
      expect(await world.supervisor.nameHasOwner(session2.RuntimeBusName as string)).toBe(false);
      const after = await sessionClient(world.supervisor, path1!).getAll();
      expect(after.State).toBe("stopped");
      expect(after.ExitReason).toBe(`terminated by its launcher ${first.bus.uniqueName}`);
      expect(after.StoppedAt as bigint).toBeGreaterThanOrEqual(after.StartedAt as bigint);
      await until(() => stateChanges.filter(([id]) => id === id1).length === 4, "four state changes");
      expect(stateChanges.filter(([id]) => id === id1).map(([, state]) => state)).toEqual(["starting", "running", "stopping", "stopped"]);
      await appdOf(first.bus).call("Terminate", id1); // already stopped: nothing to do
    } finally {
      await first.bus.close();
      await second.bus.close();
    }
  });

  test("hostile input: each refusal is a named error, and nothing is started", async () => {
    const before = await listSessions();
    for (const id of ["../x", "Org.Weft.Demo.Counter", "", "a".repeat(10_000), "org.weft.demo.counter/../../x", "org..x.y"]) {
      await expectError(appd.client.call("Launch", id, {}), errorName(AppD1, "InvalidAppId"), "is not a valid app id");
    }
    await expectError(appd.client.call("Launch", "org.weft.demo.missing", {}), errorName(AppD1, "NotInstalled"), "weft-pack install");

    const rename = (id: string) => (manifest: string) => manifest.replace(`id = "${COUNTER}"`, `id = "${id}"`);
    await world.install(await world.variant(COUNTER, "unsigned", rename("org.weft.demo.unsigned")));
    unlinkSync(join(world.home, ".local/share/weft/apps/org.weft.demo.unsigned/signature.sig"));
    await expectError(appd.client.call("Launch", "org.weft.demo.unsigned", {}), errorName(AppD1, "Unsigned"));
    await world.install(await world.variant(COUNTER, "tampered", rename("org.weft.demo.tampered")));
    const wasm = join(world.home, ".local/share/weft/apps/org.weft.demo.tampered/app.wasm");
    writeFileSync(wasm, Buffer.concat([readFileSync(wasm), Buffer.from([0])]));
    await expectError(appd.client.call("Launch", "org.weft.demo.tampered", {}), errorName(AppD1, "Tampered"));

    await expectError(appd.client.call("Launch", COUNTER, { headless: new Variant("s", "yes") }), errorName(AppD1, "InvalidArgs"), '"headless"');
    await expectError(appd.client.call("Launch", COUNTER, { headles: new Variant("b", true) }), errorName(AppD1, "InvalidArgs"), '"headles"');
    await expectError(appd.client.call("Terminate", 999_999n), errorName(AppD1, "UnknownSession"));
    await expectError(appd.client.call("Terminate", 18_446_744_073_709_551_615n), errorName(AppD1, "UnknownSession"));
    expect(await listSessions()).toEqual(before);
    expect(appd.logLines.filter((l) => l.msg === "launching").length).toBe(2); // only the two counters above
  });

  test("the owner of org.weft.Shell1 may terminate a session it did not launch", async () => {
    const [id, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, headless)) as [bigint, string];
    const shell = await connectBus({ address: world.bus.address });
    try {
      const terminate = () => shell.client(contractPath(AppD1.name), AppD1.name).callWith(LONG, "Terminate", id);
      await expectError(terminate(), errorName(AppD1, "AccessDenied"));
      await shell.requestName(Shell.busName);
      await terminate();
      expect(await sessionClient(world.supervisor, path).get("ExitReason")).toBe(`terminated from the shell (${shell.uniqueName})`);
    } finally {
      await shell.close();
    }
  });

  test("a runtime that dies ends its session cleanly: stopped, with the reason", async () => {
    const [id, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, headless)) as [bigint, string];
    const session = sessionClient(world.supervisor, path);
    const pid = (await session.get("RuntimePid")) as number;
    process.kill(pid, "SIGKILL");
    await until(() => stateChanges.some(([sid, state]) => sid === id && state === "stopped"), "the session to stop");
    expect(await session.get("State")).toBe("stopped");
    expect(await session.get("ExitReason")).toBe("the runtime was killed by SIGKILL");
    expect(stateChanges.filter(([sid]) => sid === id).map(([, state]) => state)).toEqual(["starting", "running", "stopped"]);
    expect(await world.supervisor.nameHasOwner(Runtime.busName(id))).toBe(false);
  });

  test("with systemd on the bus, the runtime is placed in a transient scope in app.slice with the session's limits", async () => {
    const systemd = await FakeSystemd.start(world.bus.address);
    try {
      const [id, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, {})) as [bigint, string];
      const session = await sessionClient(world.supervisor, path).getAll();
      expect(systemd.units.length).toBe(1);
      const unit = systemd.units[0]!;
      expect(unit.name).toBe(`app-weft-${COUNTER}-${id}.scope`);
      expect(session.UnitName).toBe(unit.name);
      expect(unit.mode).toBe("fail");
      expect(unit.properties.Slice).toBe("app.slice");
      expect(unit.properties.CPUQuotaPerSecUSec).toBe(CPU_QUOTA_PER_SEC_USEC);
      expect(unit.properties.MemoryMax).toBe(MEMORY_MAX_BYTES);
      expect(unit.properties.MemoryMax).toBe(536_870_912n);
      expect(unit.properties.PIDs).toEqual([session.RuntimePid]);
      expect(unit.aux).toEqual([]);
      await appd.client.call("Terminate", id);
      expect(processAlive(session.RuntimePid as number)).toBe(false);
    } finally {
      await systemd.close();
    }
  });

  test("a session the kernel killed for its memory (scope Result oom-kill) ends with that reason, and its failed scope is reset", async () => {
    const systemd = await FakeSystemd.start(world.bus.address, { scopeResult: "oom-kill" });
    try {
      const [, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, { headless: new Variant("b", true) })) as [bigint, string];
      const session = sessionClient(world.supervisor, path);
      const unit = (await session.get("UnitName")) as string;
      expect(systemd.units[0]!.properties.OOMPolicy).toBe("kill");
      expect(systemd.units[0]!.properties.CollectMode).toBe("inactive");
      process.kill((await session.get("RuntimePid")) as number, "SIGKILL"); // what the kernel does to every process of the scope
      let state = "";
      for (const deadline = Date.now() + 20_000; state !== "stopped" && Date.now() < deadline; await Bun.sleep(20)) state = (await session.get("State")) as string;
      expect(state).toBe("stopped");
      expect(await session.get("ExitReason")).toBe(outOfMemoryReason(MEMORY_MAX_BYTES));
      expect(await session.get("ExitReason")).toContain("ran out of memory: it reached its limit of 512 MiB");
      expect(systemd.resets).toEqual([unit]);

      // A session someone terminates keeps that reason, whatever its scope says.
      const [id2, path2] = (await appd.client.callWith(LONG, "Launch", COUNTER, { headless: new Variant("b", true) })) as [bigint, string];
      await appd.client.call("Terminate", id2);
      expect(await sessionClient(world.supervisor, path2).get("ExitReason")).toMatch(/^terminated by its launcher :/);
    } finally {
      await systemd.close();
    }
  });

  test("a runtime that does not stop within the grace is killed, with its whole scope", async () => {
    const systemd = await FakeSystemd.start(world.bus.address);
    try {
      const [id, path] = (await appd.client.callWith(LONG, "Launch", COUNTER, {})) as [bigint, string];
      const session = await sessionClient(world.supervisor, path).getAll();
      const pid = session.RuntimePid as number;
      process.kill(pid, "SIGSTOP"); // answers neither Stop nor SIGTERM now
      const started = Date.now();
      await appd.client.callWith(LONG, "Terminate", id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(processAlive(pid)).toBe(false);
      expect(systemd.kills).toEqual([[session.UnitName as string, "all", 9]]);
      expect(appd.logLines.some((l) => l.msg === "the runtime did not stop within the grace; killing every process of the session")).toBe(true);
      expect(await sessionClient(world.supervisor, path).get("State")).toBe("stopped");
    } finally {
      await systemd.close();
    }
  }, 60_000); // it sits out the whole stop grace (STOP_GRACE_MS, 5 s) before the kill

  test("a scope systemd fails to start fails the launch (UnitFailed) and stops the runtime", async () => {
    const systemd = await FakeSystemd.start(world.bus.address, { jobResult: "failed" });
    try {
      const error = await failure(appd.client.callWith(LONG, "Launch", COUNTER, {}));
      expect(isBusError(error, errorName(AppD1, "UnitFailed"))).toBe(true);
      const [id, app, state] = (await listSessions()).at(-1)!;
      expect([app, state]).toEqual([COUNTER, "stopped"]);
      expect(error.message).toContain(`session ${id}`);
      expect(await world.supervisor.nameHasOwner(Runtime.busName(id))).toBe(false);
    } finally {
      await systemd.close();
    }
  });
});

describe("appd restarts", () => {
  test("SIGTERM stops every session and keeps their apps; the next appd relaunches them and deletes the file", async () => {
    const [, counterPath] = (await appd.client.callWith(LONG, "Launch", COUNTER, {})) as [bigint, string];
    const [, notesPath] = (await appd.client.callWith(LONG, "Launch", NOTES, headless)) as [bigint, string];
    const pids = await Promise.all([counterPath, notesPath].map(async (p) => (await sessionClient(world.supervisor, p).get("RuntimePid")) as number));
    expect(await appd.stop()).toBe(0);
    await notifications.waitFor("STOPPING=1");
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    const file = join(world.runtimeDir, "weft", LAST_SESSION_FILE);
    expect(JSON.parse(readFileSync(file, "utf8")).sort()).toEqual([COUNTER, NOTES]);

    appd = await world.startAppd();
    await until(() => appd.logLines.filter((l) => l.msg === "relaunched from the last session").length === 2, "two relaunches", 60_000);
    expect((await listSessions()).map(([, app, state]) => [app, state]).sort()).toEqual([
      [COUNTER, "running"],
      [NOTES, "running"],
    ]);
    expect(existsSync(file)).toBe(false);
  });

  test("if appd is killed, its runtimes exit by themselves: no process and no bus name survives", async () => {
    const sessions = await listSessions();
    const paths = sessions.filter(([, , state]) => state === "running").map(([, , , path]) => path);
    expect(paths.length).toBe(2);
    const props = await Promise.all(paths.map((p) => sessionClient(world.supervisor, p).getAll()));
    appd.process.kill("SIGKILL");
    await appd.process.exited;
    for (const p of props) {
      await until(() => !processAlive(p.RuntimePid as number), `runtime ${p.RuntimePid} to exit`);
      expect(await world.supervisor.nameHasOwner(p.RuntimeBusName as string)).toBe(false);
    }
    expect(existsSync(join(world.runtimeDir, "weft", LAST_SESSION_FILE))).toBe(false); // not a clean shutdown
  });

  test("a hostile last-session.json: invalid and unknown ids are skipped, the file is deleted", async () => {
    const file = join(world.runtimeDir, "weft", LAST_SESSION_FILE);
    writeFileSync(file, JSON.stringify(["../x", "a".repeat(10_000), "org.weft.demo.missing", COUNTER]));
    appd = await world.startAppd();
    await until(() => appd.logLines.some((l) => l.msg === "relaunched from the last session"), "the relaunch", 60_000);
    expect(appd.logLines.filter((l) => l.msg === "skipping an entry of the last session file").length).toBe(2);
    expect(appd.logLines.some((l) => l.msg === "could not relaunch an app of the last session" && l.app === "org.weft.demo.missing")).toBe(true);
    expect((await listSessions()).map(([, app, state]) => [app, state])).toEqual([[COUNTER, "running"]]);
    expect(existsSync(file)).toBe(false);
    expect(await appd.stop()).toBe(0);
    rmSync(file, { force: true });
  });
});
