import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { connectBus, type BusConnection } from "../services/common/bus/connection.ts";
import { loadContract } from "../protocol/dbus/parse.ts";
import { TEST1, TEST1_CONTRACT, TEST1_PATH, exportTest1 } from "./test1.ts";
import { busctl, expectIntrospectionMatchesContract, startPrivateBus, type PrivateBus } from "./bus.ts";

const processAlive = (pid: number) => existsSync(`/proc/${pid}`);

describe("startPrivateBus", () => {
  test("starts a daemon busctl can talk to; close() kills it and removes its directory", async () => {
    const bus = await startPrivateBus();
    expect(bus.address).toStartWith(`unix:path=${bus.dir}/socket`);
    expect(processAlive(bus.pid)).toBe(true);
    expect(readFileSync(`/proc/${bus.pid}/comm`, "utf8").trim()).toBe("dbus-daemon");
    const listed = await busctl(bus.address, ["list", "--no-pager"]);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain("org.freedesktop.DBus");

    await bus.close();
    expect(processAlive(bus.pid)).toBe(false);
    expect(existsSync(bus.dir)).toBe(false);
    await bus.close(); // twice is fine
  });

  test("works with await using", async () => {
    let pid = 0;
    let dir = "";
    {
      await using bus = await startPrivateBus();
      pid = bus.pid;
      dir = bus.dir;
      expect(processAlive(pid)).toBe(true);
    }
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("expectIntrospectionMatchesContract", () => {
  let bus: PrivateBus;
  let service: BusConnection;

  beforeAll(async () => {
    bus = await startPrivateBus();
    service = await connectBus({ address: bus.address });
    await service.requestName(TEST1);
    exportTest1(service);
  });
  afterAll(async () => {
    await service.close();
    await bus.close();
  });

  const check = (contract: string) => expectIntrospectionMatchesContract({ address: bus.address, destination: TEST1, path: TEST1_PATH, contract });
  const contractText = () => readFileSync(TEST1_CONTRACT, "utf8");

  test("passes for the service exported from the contract, and returns what it compared", async () => {
    const compared = await check(TEST1_CONTRACT);
    expect(compared.map((i) => i.name)).toEqual([TEST1]);
    expect(compared[0]!.methods.length).toBe(loadContract(TEST1_CONTRACT).interfaces[0]!.methods.length);
  });

  test("reports a method the service has but the contract lacks", async () => {
    const withoutEcho = contractText().replace(/<method name="Echo">[\s\S]*?<\/method>/, "");
    await expect(check(withoutEcho)).rejects.toThrow("method org.weft.Test1.Echo is not in the contract");
  });

  test("reports a signature or argument name difference", async () => {
    await expect(check(contractText().replace('<arg name="text" type="s" direction="in"/>', '<arg name="text" type="i" direction="in"/>'))).rejects.toThrow(
      /method org.weft.Test1.Echo: contract has \(text:i:in\)/,
    );
    await expect(check(contractText().replace('name="echoed"', 'name="reply"'))).rejects.toThrow(/reply:s:out/);
  });

  test("reports property type/access and signal differences", async () => {
    await expect(check(contractText().replace('name="Version" type="s" access="read"', 'name="Version" type="s" access="readwrite"'))).rejects.toThrow(
      /property org.weft.Test1.Version/,
    );
    await expect(check(contractText().replace(/<signal name="Pinged">/, '<signal name="Pinged"><arg name="extra" type="u"/>'))).rejects.toThrow(
      /signal org.weft.Test1.Pinged/,
    );
  });

  test("reports a missing interface and refuses the / path", async () => {
    const other = `<node><interface name="org.weft.Other1"><method name="X"/></interface></node>`;
    await expect(check(other)).rejects.toThrow("interface org.weft.Other1 is not exported");
    await expect(expectIntrospectionMatchesContract({ address: bus.address, destination: TEST1, path: "/", contract: TEST1_CONTRACT })).rejects.toThrow(
      /never export on \//,
    );
  });
});
