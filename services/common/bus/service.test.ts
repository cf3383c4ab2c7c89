import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Variant } from "dbus-next";
import { createLogger } from "../daemon/log.ts";
import { connectBus, type BusConnection, type ServiceClient } from "./connection.ts";
import { BusError, ErrorNames } from "./errors.ts";
import { TEST1, TEST1_CONTRACT, TEST1_PATH, exportTest1, startTest1World, type Test1State, type Test1World, failed, unexpectedSuccess } from "../../../testing/test1.ts";
import { busctl, expectIntrospectionMatchesContract, type PrivateBus } from "../../../testing/bus.ts";
import { until } from "../../../testing/until.ts";

const serviceLog: string[] = [];
let world: Test1World;
let bus: PrivateBus;
let service: BusConnection;
let client: BusConnection;
let test1: ServiceClient;
let state: Test1State;

beforeAll(async () => {
  world = await startTest1World({ serviceLogger: createLogger("test1", { sink: (line) => serviceLog.push(line), level: "debug" }) });
  ({ bus, service, client, test1, state } = world);
});
afterAll(() => world.close());

/** `busctl call org.weft.Test1 /org/weft/Test1 <interface> <method> <signature> <args…>` */
const call = (iface: string, method: string, ...args: string[]) => busctl(bus.address, ["call", TEST1, TEST1_PATH, iface, method, ...args]);

async function expectStillServing(): Promise<void> {
  expect(await test1.call("Echo", "still here")).toBe("still here");
}

describe("exporting from a contract", () => {
  test("the introspection busctl sees equals the contract", async () => {
    await expectIntrospectionMatchesContract({ address: bus.address, destination: TEST1, path: TEST1_PATH, contract: TEST1_CONTRACT });
  });

  test("a contract method without a handler, or a handler not in the contract, is rejected at export", () => {
    const handlers = { methods: { Echo: () => "", Extra: () => "" }, properties: {} };
    let message = "";
    try {
      service.exportService(TEST1_CONTRACT, "/org/weft/Test1/other", handlers);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("method Mix has no handler");
    expect(message).toContain("handler for method Extra, which the contract does not have");
    expect(message).toContain("property Version (read) has no handler");
  });

  test("property handlers must match the access the contract gives", () => {
    const methods = Object.fromEntries(["Echo", "Mix", "Fail", "Crash", "Never", "ReadFd", "OpenFd", "WhoAmI", "Ping"].map((m) => [m, () => undefined]));
    expect(() =>
      service.exportService(TEST1_CONTRACT, "/org/weft/Test1/other", {
        methods,
        properties: { Version: { get: () => "", set: () => {} }, Counter: { get: () => 0 }, Secret: { get: () => "", set: () => {} } },
      }),
    ).toThrow(/Version is read-only but has a set\(\)[\s\S]*Counter is writable but has no set\(\)[\s\S]*Secret is write-only but has a get\(\)/);
  });

  test("two interfaces on one path: unexporting one leaves the other serving (dbus-next dropped both)", async () => {
    const second = `<node><interface name="org.weft.Test1.Second"><method name="Hello"><arg name="greeting" type="s" direction="out"/></method></interface></node>`;
    const extra = service.exportService(second, TEST1_PATH, { methods: { Hello: () => "hello" } });
    const hello = () => client.call({ destination: TEST1, path: TEST1_PATH, interface: "org.weft.Test1.Second", member: "Hello" });
    expect(await hello()).toEqual(["hello"]);
    extra.unexport();
    await expectStillServing();
    await expectIntrospectionMatchesContract({ address: bus.address, destination: TEST1, path: TEST1_PATH, contract: TEST1_CONTRACT });
    expect(((await hello().then(unexpectedSuccess, failed)) as BusError).type).toBe(ErrorNames.UnknownInterface);
    // And the other way round: the first one leaving keeps the second.
    const again = service.exportService(second, TEST1_PATH, { methods: { Hello: () => "hello again" } });
    try {
      expect(await hello()).toEqual(["hello again"]);
    } finally {
      again.unexport();
    }
    await expectStillServing();
  });

  test("never on /, never twice on the same path", () => {
    expect(() => service.exportService(TEST1_CONTRACT, "/", {})).toThrow(/never on \//);
    expect(() => exportTest1(service)).toThrow(/already exported at \/org\/weft\/Test1/);
  });
});

describe("methods", () => {
  test("Bun client → Bun service with compound arguments", async () => {
    expect(await test1.call("Echo", "héllo ✓")).toBe("héllo ✓");
    const mixed = await test1.call("Mix", 21, ["a", "b"], { x: new Variant("s", "1"), y: new Variant("i", 2) });
    expect(mixed).toEqual([42n, "a,b", ["x", "y"]]);
  });

  test("busctl → Bun service", async () => {
    const result = await call(TEST1, "Mix", "iasa{sv}", "4", "2", "p", "q", "1", "k", "s", "v");
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe('xsas 8 "p,q" 1 "k"');
  });

  test("a typed error reaches a kit client as BusError with its name and message", async () => {
    const error = await test1.call("Fail", "NotInstalled", "app org.x.y is not installed: install it with `weft-pack install <dir>`").then(unexpectedSuccess, failed);
    expect(error).toBeInstanceOf(BusError);
    expect(error.type).toBe("org.weft.Test1.Error.NotInstalled");
    expect(error.message).toBe("app org.x.y is not installed: install it with `weft-pack install <dir>`");
  });

  test("a typed error reaches other D-Bus clients with its name and message", async () => {
    const result = await call(TEST1, "Fail", "ss", "CapabilityDenied", "no net:fetch for example.org");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("no net:fetch for example.org");
    // busctl prints only the message; dbus-send (libdbus) prints the error name too.
    // Asynchronously: the service runs in this process and must keep answering meanwhile.
    const dbusSend = Bun.spawn(
      ["dbus-send", `--bus=${bus.address}`, "--print-reply", `--dest=${TEST1}`, TEST1_PATH, `${TEST1}.Fail`, "string:CapabilityDenied", "string:no net:fetch"],
      { stdin: "ignore", stderr: "pipe", stdout: "pipe" },
    );
    const stderr = await new Response(dbusSend.stderr).text();
    expect(await dbusSend.exited).not.toBe(0);
    expect(stderr).toContain("Error org.weft.Test1.Error.CapabilityDenied: no net:fetch");
  });

  test("an unexpected exception becomes org.weft.Error.Internal, is logged with a reference, and the service goes on", async () => {
    const error = await test1.call("Crash").then(unexpectedSuccess, failed);
    expect(error.type).toBe(ErrorNames.Internal);
    expect(error.message).not.toContain("a bug in the handler"); // no internals to the caller
    const ref = /\(ref ([\w-]+)\)/.exec(error.message)?.[1];
    expect(ref).toBeDefined();
    const logged = serviceLog.find((line) => line.includes(`ref=${ref}`));
    expect(logged).toContain("level=error");
    expect(logged).toContain("a bug in the handler");
    expect(logged).toContain("member=Crash");
    await expectStillServing();
  });

  test("a handler returning the wrong shape is an internal error, not a crash", async () => {
    const broken = service.exportService(TEST1_CONTRACT, "/org/weft/Test1/broken", {
      methods: {
        ...Object.fromEntries(["EchoBytes", "Fail", "Crash", "Never", "ReadFd", "OpenFd", "WhoAmI", "Ping"].map((m) => [m, () => undefined])),
        Echo: () => 42, // s expected
        Mix: () => "not an array",
      },
      properties: { Version: { get: () => 1 }, Counter: { get: () => 0, set: () => {} }, Secret: { set: () => {} } },
    });
    try {
      const other = client.client(TEST1_CONTRACT, TEST1, { path: "/org/weft/Test1/broken" });
      expect((await other.call("Echo", "x").then(unexpectedSuccess, failed)).type).toBe(ErrorNames.Internal);
      expect((await other.call("Mix", 1, [], {}).then(unexpectedSuccess, failed)).type).toBe(ErrorNames.Internal);
      expect((await other.get("Version").then(unexpectedSuccess, failed)).type).toBe(ErrorNames.Internal);
      await expectStillServing();
    } finally {
      broken.unexport();
    }
  });
});

describe("hostile input, through busctl", () => {
  test("wrong signature → InvalidArgs, and the next call is answered", async () => {
    const result = await call(TEST1, "Echo", "i", "42");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("org.weft.Test1.Echo takes (s), got (i)");
    const error = await client.call({ destination: TEST1, path: TEST1_PATH, interface: TEST1, member: "Echo", signature: "u", body: [1] }).then(unexpectedSuccess, failed);
    expect(error.type).toBe(ErrorNames.InvalidArgs);
    await expectStillServing();
  });

  test("unknown method, interface and object are named errors", async () => {
    const expectType = async (request: { path?: string; interface: string; member: string }, type: string) => {
      const error = await client.call({ destination: TEST1, path: request.path ?? TEST1_PATH, interface: request.interface, member: request.member }).then(unexpectedSuccess, failed);
      expect(error.type).toBe(type);
    };
    await expectType({ interface: TEST1, member: "Nope" }, ErrorNames.UnknownMethod);
    await expectType({ interface: "org.weft.Nope1", member: "Echo" }, ErrorNames.UnknownInterface);
    await expectType({ path: "/org/weft/Nope", interface: TEST1, member: "Echo" }, ErrorNames.UnknownObject);
    expect((await call(TEST1, "Nope")).stderr).toContain("has no method Nope");
    expect((await call("org.weft.Nope1", "Echo", "s", "x")).stderr).toContain("has no interface org.weft.Nope1");
    await expectStillServing();
  });

  test("a 100 000-character string is served; over the export's limit it is LimitsExceeded", async () => {
    const big = "x".repeat(100_000);
    const result = await call(TEST1, "Echo", "s", big);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(100_000);

    const limited = service.exportService(TEST1_CONTRACT, "/org/weft/Test1/limited", {
      methods: Object.fromEntries(["Echo", "EchoBytes", "Mix", "Fail", "Crash", "Never", "ReadFd", "OpenFd", "WhoAmI", "Ping"].map((m) => [m, ([a]: unknown[]) => a])),
      properties: { Version: { get: () => "" }, Counter: { get: () => 0, set: () => {} }, Secret: { set: () => {} } },
    }, { maxStringLength: 1000 });
    try {
      const over = await busctl(bus.address, ["call", TEST1, "/org/weft/Test1/limited", TEST1, "Echo", "s", big]);
      expect(over.exitCode).not.toBe(0);
      expect(over.stderr).toContain("longer than 1000");
      const nested = await client
        .call({ destination: TEST1, path: "/org/weft/Test1/limited", interface: TEST1, member: "Mix", signature: "iasa{sv}", body: [1, ["ok", "y".repeat(1001)], {}] })
        .then(unexpectedSuccess, failed);
      expect(nested.type).toBe(ErrorNames.LimitsExceeded);
      expect(nested.message).toContain("#2[1]");
    } finally {
      limited.unexport();
    }
    await expectStillServing();
  });

  test("Properties calls with a wrong signature or an unknown property are errors", async () => {
    expect((await call("org.freedesktop.DBus.Properties", "Get", "s", TEST1)).stderr).toContain("takes (ss)");
    expect((await call("org.freedesktop.DBus.Properties", "Get", "ss", TEST1, "Nope")).stderr).toContain("no property Nope");
    await expectStillServing();
  });
});

describe("properties", () => {
  test("get, set, getAll through a kit client", async () => {
    expect(await test1.get("Version")).toBe("1.0");
    await test1.set("Counter", 7);
    expect(state.counter).toBe(7);
    expect(await test1.getAll()).toEqual({ Version: "1.0", Counter: 7 });
    await test1.set("Secret", "s3cret");
    expect(state.secret).toBe("s3cret");
  });

  test("access is enforced: read-only Set, write-only Get, wrong type, setter errors", async () => {
    const error = (promise: Promise<unknown>) => promise.then(() => undefined, (e) => e);
    const setVersion = await error(
      client.call({ destination: TEST1, path: TEST1_PATH, interface: "org.freedesktop.DBus.Properties", member: "Set", signature: "ssv", body: [TEST1, "Version", new Variant("s", "2")] }),
    );
    expect(setVersion.type).toBe(ErrorNames.PropertyReadOnly);
    expect((await error(test1.get("Secret"))).type).toBe(ErrorNames.AccessDenied);
    const wrongType = await error(
      client.call({ destination: TEST1, path: TEST1_PATH, interface: "org.freedesktop.DBus.Properties", member: "Set", signature: "ssv", body: [TEST1, "Counter", new Variant("s", "7")] }),
    );
    expect(wrongType.type).toBe(ErrorNames.InvalidArgs);
    expect((await error(test1.set("Counter", -1))).type).toBe("org.weft.Test1.Error.Negative");
  });

  test("busctl reads and writes properties", async () => {
    await test1.set("Counter", 3);
    expect((await busctl(bus.address, ["get-property", TEST1, TEST1_PATH, TEST1, "Counter"])).stdout.trim()).toBe("i 3");
    expect((await busctl(bus.address, ["set-property", TEST1, TEST1_PATH, TEST1, "Counter", "i", "11"])).exitCode).toBe(0);
    expect(state.counter).toBe(11);
  });

  test("a successful Set emits PropertiesChanged with the new value (unless the contract says not to)", async () => {
    const changes: unknown[][] = [];
    const subscription = await client.subscribeSignal(
      { sender: TEST1, path: TEST1_PATH, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged" },
      (body) => changes.push(body),
    );
    try {
      await test1.set("Secret", "quiet"); // EmitsChangedSignal=false
      await test1.set("Counter", 5);
      await until(() => changes.length >= 1, "PropertiesChanged", 5000, { everyMs: 5 });
      await Bun.sleep(50);
      expect(changes.length).toBe(1);
      const [iface, changed, invalidated] = changes[0] as [string, Record<string, Variant>, string[]];
      expect(iface).toBe(TEST1);
      expect(changed.Counter?.value).toBe(5);
      expect(invalidated).toEqual([]);
    } finally {
      await subscription.close();
    }
  });
});

describe("byte arrays", () => {
  test("ay round-trips byte for byte: empty, tiny, a view at an odd offset, and 1 MiB (the export's limit)", async () => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    for (const data of [Buffer.alloc(0), Buffer.from([0xff]), backing.subarray(1, 4), big]) {
      const [echoed] = [(await test1.call("EchoBytes", data)) as Buffer];
      expect(Buffer.compare(Buffer.from(echoed), Buffer.from(data.buffer, data.byteOffset, data.byteLength))).toBe(0);
    }
  });
});

describe("signals", () => {
  test("emit() sends the contract's signal; a kit client receives it with its arguments", async () => {
    const received: unknown[][] = [];
    const subscription = await test1.on("Pinged", (...args) => received.push(args));
    try {
      await test1.call("Ping", "hello");
      await until(() => received.length === 1, "the signal", 5000, { everyMs: 5 });
      expect(received).toEqual([["hello"]]);
    } finally {
      await subscription.close();
    }
  });

  test("a call sent with NO_REPLY_EXPECTED runs and gets no reply", async () => {
    const received: unknown[][] = [];
    const subscription = await test1.on("Pinged", (...args) => received.push(args));
    try {
      expect(await test1.callWith({ noReply: true }, "Ping", "quietly")).toBeUndefined();
      await until(() => received.length === 1, "the signal", 5000, { everyMs: 5 });
      expect(received).toEqual([["quietly"]]);
    } finally {
      await subscription.close();
    }
  });

  test("emitTo() reaches its destination only, even when another peer listens for the same signal", async () => {
    const bystander = await connectBus({ address: bus.address });
    const toClient: unknown[][] = [];
    const toBystander: unknown[][] = [];
    const mine = await test1.on("Pinged", (...args) => toClient.push(args));
    const theirs = await bystander.client(TEST1_CONTRACT, TEST1).on("Pinged", (...args) => toBystander.push(args));
    try {
      state.service.emitTo(client.uniqueName, "Pinged", "for the client only");
      state.service.emit("Pinged", "for everyone");
      await until(() => toClient.length === 2 && toBystander.length === 1, "the unicast and broadcast signals", 5000, { everyMs: 5 });
      expect(toClient).toEqual([["for the client only"], ["for everyone"]]);
      expect(toBystander).toEqual([["for everyone"]]);
    } finally {
      await mine.close();
      await theirs.close();
      await bystander.close();
    }
  });

  test("emitTo() is private even from a peer that asks to eavesdrop", async () => {
    const eavesdropper = await connectBus({ address: bus.address });
    const seen: string[] = [];
    const onMessage = (message: { member?: string; body?: unknown[] }) => {
      if (message.member === "Pinged") seen.push(String(message.body?.[0]));
    };
    try {
      await eavesdropper.call({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "AddMatch",
        signature: "s",
        body: [`eavesdrop=true,type='signal',interface='${TEST1}'`],
      });
      eavesdropper.raw.on("message", onMessage);
      state.service.emitTo(client.uniqueName, "Pinged", "secret");
      state.service.emit("Pinged", "public");
      await until(() => seen.includes("public"), "the public signal", 5000, { everyMs: 5 });
      expect(seen).toEqual(["public"]);
    } finally {
      eavesdropper.raw.off("message", onMessage);
      await eavesdropper.close();
    }
  });

  test("emit() refuses unknown signals and wrong arity", () => {
    expect(() => state.service.emit("Nope")).toThrow(/no signal Nope/);
    expect(() => state.service.emit("Pinged")).toThrow(/takes 1 arguments/);
  });
});
