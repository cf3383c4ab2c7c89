/**
 * The weft:app host functions as the guest's worker calls them, with a real private bus and a stand-in
 * notification daemon that records what it is asked to show.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectBus, type BusConnection } from "../common/bus/index.ts";
import { startPrivateBus, type PrivateBus } from "../../testing/bus.ts";
import { requireCapability } from "../common/package/capabilities.ts";
import { createLogger } from "../common/daemon/log.ts";
import { makeTempDir } from "../../testing/components.ts";
import { hostImports } from "./host.ts";
import { RuntimeSession } from "./session.ts";
import type { WitValue } from "./wasmtime/index.ts";
import { Notifications, NotificationsService } from "../../protocol/dbus/index.ts";

const NOTIFICATIONS_XML = `<node><interface name="${Notifications.name}">
  <method name="Notify">
    <arg name="app_name" type="s" direction="in"/><arg name="replaces_id" type="u" direction="in"/>
    <arg name="app_icon" type="s" direction="in"/><arg name="summary" type="s" direction="in"/>
    <arg name="body" type="s" direction="in"/><arg name="actions" type="as" direction="in"/>
    <arg name="hints" type="a{sv}" direction="in"/><arg name="expire_timeout" type="i" direction="in"/>
    <arg name="id" type="u" direction="out"/>
  </method>
</interface></node>`;

let bus: PrivateBus;
let runtimeBus: BusConnection;
let daemon: BusConnection;
const shown: unknown[][] = [];

beforeAll(async () => {
  bus = await startPrivateBus();
  runtimeBus = await connectBus({ address: bus.address });
  daemon = await connectBus({ address: bus.address });
  const dir = await makeTempDir();
  const contract = join(dir, `${Notifications.name}.xml`);
  writeFileSync(contract, NOTIFICATIONS_XML);
  await daemon.requestName(NotificationsService.busName);
  daemon.exportService(contract, "/org/freedesktop/Notifications", {
    methods: { Notify: (args: unknown[]) => (shown.push(args), shown.length) },
  });
});
afterAll(async () => {
  await runtimeBus.close();
  await daemon.close();
  await bus.close();
});

function setup(capabilities: string[]) {
  const log: any[] = [];
  const logger = createLogger("runtime", { sink: (l) => log.push(JSON.parse(l)), format: "json", level: "debug" });
  const sent: string[] = [];
  const session = new RuntimeSession("org.weft.test.app", 1n, ":1.1", capabilities, { message: (_ui, p) => sent.push(p), ready: () => {}, stateChanged: () => {} }, logger);
  const imports = hostImports({ session, granted: capabilities.map(requireCapability), appName: "Test App", bus: runtimeBus, log: logger });
  const call = async (iface: string, fn: string, ...args: WitValue[]) => {
    const found = imports.find((i) => i.interface === `weft:app/${iface}@0.1.0`);
    if (found === undefined) throw new Error(`no import ${iface}`);
    return (await found.functions[fn]!(args))[0];
  };
  return { session, call, log, sent };
}

describe("capability gating", () => {
  test("every gated function without its capability returns an error naming it, and the denial is logged", async () => {
    const { call, log } = setup([]);
    const cases: [string, string, WitValue[], string][] = [
      ["fetch", "fetch", ["https://example.com/", "GET", [], { tag: "none" }], "net:fetch"],
      ["notifications", "notify", ["t", "b", { tag: "none" }], "sys:notifications"],
      ["clipboard", "read", [], "sys:clipboard:read"],
      ["clipboard", "write", ["x"], "sys:clipboard:write"],
      ["files", "read", ["/xdg/documents/a"], "fs:read:xdg-documents"],
      ["files", "write", ["/xdg/documents/a", new Uint8Array()], "fs:rw:xdg-documents"],
    ];
    for (const [iface, fn, args, capability] of cases) {
      const result = (await call(iface, fn, ...args)) as { tag: string; val: string };
      expect(result.tag).toBe("err");
      expect(result.val).toContain(capability);
      expect(result.val).toContain("org.weft.test.app does not declare");
    }
    expect(log.filter((l) => l.msg === "capability denied")).toHaveLength(cases.length);
    expect(shown).toHaveLength(0);
  });

  test("a read capability does not open the write half", async () => {
    const { call } = setup(["sys:clipboard:read", "fs:read:xdg-documents"]);
    expect(((await call("clipboard", "write", "x")) as { val: string }).val).toContain("sys:clipboard:write");
    expect(((await call("files", "write", "/xdg/documents/a", new Uint8Array())) as { val: string }).val).toContain("fs:rw:xdg-documents");
  });
});

describe("notifications", () => {
  test("with sys:notifications a notification reaches org.freedesktop.Notifications", async () => {
    const { call } = setup(["sys:notifications"]);
    shown.length = 0;
    const result = await call("notifications", "notify", "Saved", "Your note is safe", { tag: "some", val: "document-save" });
    expect(result).toEqual({ tag: "ok" });
    expect(shown).toHaveLength(1);
    const [appName, replaces, icon, summary, body, actions, , timeout] = shown[0]!;
    expect([appName, replaces, icon, summary, body, actions, timeout]).toEqual(["Test App", 0, "document-save", "Saved", "Your note is safe", [], -1]);
  });

  test("icon paths and oversized text are refused before the bus", async () => {
    const { call } = setup(["sys:notifications"]);
    shown.length = 0;
    expect(((await call("notifications", "notify", "t", "b", { tag: "some", val: "/etc/passwd" })) as { val: string }).val).toContain("paths are not allowed");
    expect(((await call("notifications", "notify", "t".repeat(300), "b", { tag: "none" })) as { tag: string }).tag).toBe("err");
    expect(shown).toHaveLength(0);
  });
});

describe("ipc and notify", () => {
  test("ready marks the session running; send goes to the UI end; recv returns none, then some", async () => {
    const { session, call, sent } = setup([]);
    expect(await call("notify", "ready")).toBeUndefined();
    expect(session.state).toBe("running");
    session.bindUi(":1.1", ":1.5");
    expect(await call("ipc", "send", '{"count":1}')).toEqual({ tag: "ok" });
    expect(sent).toEqual(['{"count":1}']);
    expect(await call("ipc", "recv")).toEqual({ tag: "none" });
    session.post(":1.5", "increment");
    expect(await call("ipc", "recv")).toEqual({ tag: "some", val: "increment" });
    expect(await call("ipc", "recv-wait", 10)).toEqual({ tag: "none" });
    const waited = call("ipc", "recv-wait", 10_000);
    session.post(":1.5", "get");
    expect(await waited).toEqual({ tag: "some", val: "get" });
  });
});
