import { describe, expect, test } from "bun:test";
import { DBusError } from "dbus-next";
import { BusError, busError, isBusError } from "./errors.ts";

// The round trip of these errors over a real bus is tested in service.test.ts.
describe("busError", () => {
  test("names the error <interface>.Error.<name> and keeps the message", () => {
    const error = busError("org.example.Kit1", "NotInstalled", "app org.x.y is not installed: install it with `weft-pack install <dir>`");
    expect(error).toBeInstanceOf(BusError);
    expect(error).toBeInstanceOf(DBusError);
    expect(error.type).toBe("org.example.Kit1.Error.NotInstalled");
    expect(error.message).toBe("app org.x.y is not installed: install it with `weft-pack install <dir>`");
    expect(error.text).toBe(error.message);
  });

  test("rejects names that are not valid D-Bus error names", () => {
    expect(() => busError("org.example.Kit1", "Not Installed", "x")).toThrow(/invalid D-Bus error name/);
    expect(() => busError("noDots", "X", "x")).toThrow();
  });

  test("isBusError matches D-Bus errors, optionally by name", () => {
    const error = busError("org.example.Kit1", "NotInstalled", "x");
    expect(isBusError(error)).toBe(true);
    expect(isBusError(error, "org.example.Kit1.Error.NotInstalled")).toBe(true);
    expect(isBusError(error, "org.example.Kit1.Error.Other")).toBe(false);
    expect(isBusError(new Error("x"))).toBe(false);
  });
});
