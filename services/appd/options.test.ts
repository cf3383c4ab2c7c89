import { describe, expect, test } from "bun:test";
import { Variant } from "dbus-next";
import { LaunchOptionsError, parseLaunchOptions } from "./options.ts";

function refusal(raw: Record<string, unknown>): LaunchOptionsError {
  try {
    parseLaunchOptions(raw);
  } catch (error) {
    if (error instanceof LaunchOptionsError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("parseLaunchOptions", () => {
  test("defaults, and headless as a boolean", () => {
    expect(parseLaunchOptions({})).toEqual({ headless: false });
    expect(parseLaunchOptions({ headless: new Variant("b", true) })).toEqual({ headless: true });
  });

  test("an unknown key is refused with its name", () => {
    const error = refusal({ headless: new Variant("b", true), bogus: new Variant("b", true) });
    expect(error.key).toBe("bogus");
    expect(error.message).toContain('"bogus"');
  });

  test("a value of the wrong type is refused with the key and both types", () => {
    const error = refusal({ headless: new Variant("s", "yes") });
    expect(error.key).toBe("headless");
    expect(error.message).toContain("must be a boolean (b), not s");
  });

  test("keys that are properties of every object are unknown, and long keys are shortened in the message", () => {
    expect(refusal({ constructor: new Variant("b", true) }).key).toBe("constructor");
    expect(refusal({ ["x".repeat(10_000)]: new Variant("b", true) }).message.length).toBeLessThan(200);
  });
});
