/**
 * WIT values between JavaScript and Wasmtime: every supported kind through a real component (host → guest
 * memory → host), the checks on host results, and the response wire format on its own.
 */

import { describe, expect, test } from "bun:test";
import { watGuest } from "./fixtures/fixtures.ts";
import { type GuestExit, startGuest, type WitValue } from "./index.ts";
import { decodeResponse, encodeHostError, encodeResults } from "./wire.ts";

/** A value of weft-test:host/values.everything (fixtures/guests.wit), with edge cases in each field. */
function everything(): Record<string, WitValue> {
  return {
    flag: true,
    "small-signed": -128,
    small: 255,
    "short-signed": -32768,
    short: 65535,
    "int-signed": -2147483648,
    int: 4294967295,
    "long-signed": -(2n ** 63n),
    long: 2n ** 64n - 1n,
    single: 1.5,
    double: -0.1,
    letter: "🦀",
    text: "héllo, wörld ✓",
    "empty-text": "",
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
    "empty-bytes": new Uint8Array(0),
    words: ["a", "", "ü"],
    pair: [7, "seven"],
    "maybe-maybe": { tag: "some", val: { tag: "none" } },
    "maybe-none": { tag: "none" },
    done: { tag: "ok" },
    failed: { tag: "err", val: "nope" },
    shapes: [{ tag: "circle", val: 2.5 }, { tag: "square", val: 3 }, { tag: "nothing" }],
    color: "green",
    perms: ["read", "exec"],
    points: [
      { x: -1, y: 1 },
      { x: 2147483647, y: -2147483648 },
    ],
  };
}

/** Runs fixtures/values.wat: `make` returns `made`, the guest hands it back to `check`. */
async function roundTrip(made: unknown): Promise<{ exit: GuestExit; checked: WitValue | undefined }> {
  let checked: WitValue | undefined;
  const guest = await startGuest({
    component: { bytes: await watGuest("values") },
    imports: [
      {
        interface: "weft-test:host/values",
        functions: {
          make: () => [made as WitValue],
          check: ([value]) => {
            checked = value;
            return [true];
          },
        },
      },
    ],
    onOutput: () => {},
  });
  return { exit: await guest.exited, checked };
}

describe("WIT values through a component", () => {
  test("every supported kind survives host → guest memory → host unchanged", async () => {
    const { exit, checked } = await roundTrip(everything());
    expect(exit.status).toBe("returned-ok");
    expect(checked).toEqual(everything());
    // Exact JavaScript types, not just equal-looking ones.
    const record = checked as Record<string, unknown>;
    expect(record.bytes).toBeInstanceOf(Uint8Array);
    expect(record["empty-bytes"]).toBeInstanceOf(Uint8Array);
    expect(typeof record.long).toBe("bigint");
    expect(typeof record.int).toBe("number");
  });

  test("writers accept safe-integer numbers for 64-bit fields and number arrays for list<u8>", async () => {
    const value = { ...everything(), "long-signed": -5, long: 5, bytes: [1, 2, 3] };
    const { exit, checked } = await roundTrip(value);
    expect(exit.status).toBe("returned-ok");
    expect(checked).toEqual({ ...everything(), "long-signed": -5n, long: 5n, bytes: new Uint8Array([1, 2, 3]) });
  });

  test("flags are read back in declaration order, whatever order they were written in", async () => {
    const { checked } = await roundTrip({ ...everything(), perms: ["exec", "read", "exec"] });
    expect((checked as Record<string, unknown>).perms).toEqual(["read", "exec"]);
  });

  const badValues: [string, Record<string, unknown>, string][] = [
    ["an out-of-range u8", { small: 256 }, "result.small: expected u8 (integer 0..255), got 256"],
    ["a fraction for s32", { "int-signed": 1.5 }, "result.int-signed: expected s32"],
    ["a number beyond 2^53 for u64", { long: 2 ** 60 }, "result.long: expected u64"],
    ["a negative u64", { long: -1n }, "result.long: expected u64"],
    ["two characters for a char", { letter: "ab" }, "result.letter: expected char"],
    ["a string for list<u8>", { bytes: "abc" }, "result.bytes: expected Uint8Array"],
    ["an unknown enum case", { color: "purple" }, "result.color: expected one of red, green, blue"],
    ["an unknown flag", { perms: ["fly"] }, "result.perms: expected flags of read, write, exec"],
    ["some without val", { "maybe-none": { tag: "some" } }, "result.maybe-none: expected"],
    ["null for an option", { "maybe-none": null }, "null is not a WIT value"],
    ["ok with a val where ok has no type", { done: { tag: "ok", val: 1 } }, "result.done: ok takes no val"],
    ["err without its val", { failed: { tag: "err" } }, "result.failed: err needs a val"],
    ["an unknown variant case", { shapes: [{ tag: "hexagon" }] }, "result.shapes[0]: expected { tag:"],
    ["a tuple of the wrong length", { pair: [1] }, "result.pair: expected array of 2 (tuple)"],
    ["a record field of the wrong type", { points: [{ x: "1", y: 2 }] }, "result.points[0].x: expected s32"],
    ["a missing record field", { points: [{ x: 1 }] }, 'result.points[0]: missing record field "y"'],
    ["an unknown record field", { points: [{ x: 1, y: 2, z: 3 }] }, 'result.points[0]: unknown record field "z"'],
  ];
  test.each(badValues)("%s fails the guest with the path of the value", async (_name, change, message) => {
    const { exit, checked } = await roundTrip({ ...everything(), ...change });
    expect(exit.status).toBe("error");
    expect(exit.message).toContain("host function weft-test:host/values#make");
    expect(exit.message).toContain(message);
    expect(checked).toBeUndefined();
  });
});

describe("response wire format", () => {
  test("round-trips JavaScript values", () => {
    const values = [true, false, 0, -1.5, Number.NaN, -(2n ** 63n), 2n ** 64n - 1n, "", "✓", new Uint8Array([1, 2]), [], [1, ["a"]], {}, { a: { b: [1n] } }];
    const decoded = decodeResponse(encodeResults(values));
    expect(decoded).toEqual({ ok: true, results: values });
  });

  test("skips undefined fields and keeps a __proto__ key a plain field", () => {
    const value = JSON.parse('{"__proto__": 1, "tag": "ok"}') as Record<string, unknown>;
    const decoded = decodeResponse(encodeResults([{ ...value, val: undefined }]));
    expect(decoded.ok && Object.keys(decoded.results[0] as object)).toEqual(["__proto__", "tag"]);
    expect(Object.getPrototypeOf(decoded.ok && decoded.results[0])).toBe(Object.prototype);
  });

  test("refuses values that are not WIT values, naming where", () => {
    expect(() => encodeResults([{ a: [null] }])).toThrow("results[0].a[0]: null is not a WIT value");
    expect(() => encodeResults([2n ** 64n])).toThrow("does not fit in 64 bits");
    expect(() => encodeResults([new Map()])).toThrow("Map is not a WIT value");
    expect(() => encodeResults([new Uint16Array(1)])).toThrow("Uint16Array is not a WIT value");
  });

  test("carries host errors", () => {
    expect(decodeResponse(encodeHostError("it broke ✗"))).toEqual({ ok: false, message: "it broke ✗" });
  });
});
