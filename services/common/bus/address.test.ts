import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBusAddress, resolveBusAddress } from "./address.ts";

describe("resolveBusAddress", () => {
  const env = {
    WEFT_BUS_ADDRESS: "unix:path=/weft",
    DBUS_SESSION_BUS_ADDRESS: "unix:path=/session",
    DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/system",
  };

  test("an explicit address wins over everything", () => {
    expect(resolveBusAddress({ address: "unix:path=/given", bus: "system" }, env).address).toBe("unix:path=/given");
  });

  test("WEFT_BUS_ADDRESS wins over the session and the system bus", () => {
    expect(resolveBusAddress({ bus: "session" }, env)).toEqual({ address: "unix:path=/weft", source: "WEFT_BUS_ADDRESS" });
    expect(resolveBusAddress({ bus: "system" }, env).address).toBe("unix:path=/weft");
  });

  test("otherwise each bus's own variable, session by default", () => {
    const { WEFT_BUS_ADDRESS: _, ...standard } = env;
    expect(resolveBusAddress({}, standard).address).toBe("unix:path=/session");
    expect(resolveBusAddress({ bus: "system" }, standard).address).toBe("unix:path=/system");
  });

  test("then the standard sockets", () => {
    expect(resolveBusAddress({ bus: "system" }, {}).address).toBe("unix:path=/var/run/dbus/system_bus_socket");
    const runtime = mkdtempSync(join(tmpdir(), "weft-runtime-"));
    try {
      expect(() => resolveBusAddress({}, { XDG_RUNTIME_DIR: runtime })).toThrow(/no session bus/);
      writeFileSync(join(runtime, "bus"), "");
      expect(resolveBusAddress({}, { XDG_RUNTIME_DIR: runtime }).address).toBe(`unix:path=${runtime}/bus`);
    } finally {
      rmSync(runtime, { recursive: true });
    }
  });
});

describe("parseBusAddress", () => {
  test("reads unix path and abstract sockets, in order, unescaping values", () => {
    expect(parseBusAddress("unix:path=/tmp/a%20b,guid=123;unix:abstract=/tmp/dbus-x")).toEqual([
      { kind: "path", path: "/tmp/a b" },
      { kind: "abstract", name: "/tmp/dbus-x" },
    ]);
  });

  test("skips transports it cannot use when a usable one follows", () => {
    expect(parseBusAddress("tcp:host=localhost,port=1;unix:path=/x")).toEqual([{ kind: "path", path: "/x" }]);
  });

  test.each([
    ["tcp:host=localhost,port=1", /only unix:path= and unix:abstract=/],
    ["unix:tmpdir=/tmp", /only unix:path=/],
    ["garbage", /malformed/],
    ["unix:path", /not key=value/],
    ["unix:path=/a%zz", /bad escape/],
  ])("rejects %s", (address, error) => {
    expect(() => parseBusAddress(address)).toThrow(error);
  });
});
