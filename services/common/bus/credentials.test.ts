import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import type { Variant } from "dbus-next";
import { connectBus, type BusConnection } from "./connection.ts";
import { ErrorNames } from "./errors.ts";
import { closeFd } from "./libc.ts";
import { TEST1, TEST1_CONTRACT, TEST1_PATH, exportTest1, failed, unexpectedSuccess } from "../../../testing/test1.ts";
import { busctl, startPrivateBus, type PrivateBus } from "../../../testing/bus.ts";
import { until } from "../../../testing/until.ts";

let bus: PrivateBus;
let service: BusConnection;
let client: BusConnection;

beforeAll(async () => {
  bus = await startPrivateBus();
  service = await connectBus({ address: bus.address });
  await service.requestName(TEST1);
  exportTest1(service);
  client = await connectBus({ address: bus.address });
});
afterAll(async () => {
  await client.close();
  await service.close();
  await bus.close();
});


describe("caller credentials", () => {
  test("a handler sees the caller's unique name, uid and pid as the bus reports them (Bun caller)", async () => {
    const [sender, uid, pid] = (await client.client(TEST1_CONTRACT, TEST1).call("WhoAmI")) as [string, number, number];
    expect(sender).toBe(client.uniqueName);
    expect(uid).toBe(process.getuid!());
    expect(pid).toBe(process.pid);
  });

  test("… and for another process (busctl), its own pid", async () => {
    const result = await busctl(bus.address, ["call", TEST1, TEST1_PATH, TEST1, "WhoAmI"]);
    expect(result.stderr).toBe("");
    const match = /^suu "(:1\.\d+)" (\d+) (\d+)$/.exec(result.stdout.trim());
    expect(match).not.toBeNull();
    expect(Number(match![2])).toBe(process.getuid!());
    expect(Number(match![3])).toBe(result.pid);
  });

  test("cached per unique name until that name leaves the bus", async () => {
    const visitor = await connectBus({ address: bus.address });
    const name = visitor.uniqueName;
    await visitor.client(TEST1_CONTRACT, TEST1).call("WhoAmI");
    const cache = service.credentialsCache!;
    expect(cache.has(name)).toBe(true);
    expect(service.credentials(name)).toBe(service.credentials(name)); // one lookup, shared
    await visitor.close();
    await until(() => !cache.has(name), "NameOwnerChanged to drop the entry");
    expect(cache.has(client.uniqueName)).toBe(true); // others stay
  });

  test("a name that is not on the bus is an error and is not cached", async () => {
    const error = await service.credentials(":1.9999").then(unexpectedSuccess, failed);
    expect(error.type).toBe(ErrorNames.NameHasNoOwner);
    await until(() => !service.credentialsCache!.has(":1.9999"), "the failed entry to be dropped");
  });

  test("pidfd is given exactly when the daemon reports ProcessFD (dbus 1.14 does not)", async () => {
    const [raw] = (await client.call({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member: "GetConnectionCredentials",
      signature: "s",
      body: [client.uniqueName],
    })) as [Record<string, Variant>];
    const credentials = await service.credentials(client.uniqueName);
    if (raw.ProcessFD === undefined) {
      expect(credentials.pidfd).toBeUndefined();
    } else {
      closeFd(raw.ProcessFD.value as number);
      expect(readlinkSync(`/proc/self/fd/${credentials.pidfd}`)).toContain("pidfd");
    }
    expect(credentials.uid).toBe(raw.UnixUserID!.value as number);
    expect(credentials.pid).toBe(raw.ProcessID!.value as number);
  });
});
