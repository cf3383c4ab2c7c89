import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPOSITOR_EVENTS } from "../../protocol/compositor-events.ts";
import { parseEventLine } from "./events.ts";

const EVENTS_C = readFileSync(join(import.meta.dir, "../../native/compositor/src/events.c"), "utf8");

/** The printf conversion each field type is written with in events.c. */
const CONVERSION = { u32: "%u", i32: "%d", u64: "%llu", role: "%s", text: "%s", float: "%.1f" } as const;

describe("the events to Bun", () => {
  test("events.c writes each event of protocol/compositor-events.ts with its fields, in the table's order", () => {
    const formats = [...EVENTS_C.matchAll(/event_emit\(server, "([^"]+)"/g)].map((m) => m[1]!.replaceAll("\\t", "\t"));
    const expected = Object.entries(COMPOSITOR_EVENTS).map(([name, fields]) => [name, ...fields.map(([, type]) => CONVERSION[type])].join("\t"));
    expect(formats.sort()).toEqual(expected.sort());
  });

  test("each line becomes its typed event", () => {
    expect(parseEventLine("window-mapped\t7\t3\tapplication\torg.weft.demo.counter\tCounter\t0\t48\t1280\t672")).toEqual({
      kind: "window-mapped", id: 7, session: 3n, role: "application", appId: "org.weft.demo.counter", title: "Counter", x: 0, y: 48, width: 1280, height: 672,
    });
    expect(parseEventLine("window-changed\t7\t3\torg.weft.demo.counter\tCounter: 3")).toEqual({ kind: "window-changed", id: 7, session: 3n, appId: "org.weft.demo.counter", title: "Counter: 3" });
    expect(parseEventLine("focus\t0\t0")).toEqual({ kind: "focus", id: 0, session: 0n });
    expect(parseEventLine("gesture\t0\t3\t-120.0\t0.0")).toEqual({ kind: "gesture", type: 0, fingers: 3, dx: -120, dy: 0 });
  });

  test("unknown or damaged lines never throw: an unknown event is skipped, missing fields read as empty", () => {
    expect(parseEventLine("")).toBeNull();
    expect(parseEventLine("window-exploded\t1")).toBeNull();
    expect(parseEventLine("toString")).toBeNull();
    expect(parseEventLine("__proto__\t1")).toBeNull();
    expect(parseEventLine("window-closed")).toEqual({ kind: "window-closed", id: NaN, session: 0n });
    expect(parseEventLine("window-closed\t1\t-5")).toEqual({ kind: "window-closed", id: 1, session: 0n });
  });
});
