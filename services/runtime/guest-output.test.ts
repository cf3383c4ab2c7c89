import { expect, test } from "bun:test";
import { createLogger } from "../common/daemon/log.ts";
import { GuestOutput, MAX_LINE } from "./guest-output.ts";

function collect() {
  const lines: any[] = [];
  const output = new GuestOutput(createLogger("runtime", { sink: (l) => lines.push(JSON.parse(l)), format: "json", level: "debug" }).with({ app: "a.b.c", session: "1" }));
  return { output, lines };
}

test("guest output becomes one log record per line, tagged, with stderr as warnings", () => {
  const { output, lines } = collect();
  const enc = new TextEncoder();
  output.write("stdout", enc.encode("hello\nwor"));
  output.write("stdout", enc.encode("ld\r\n"));
  output.write("stderr", enc.encode("oops\n"));
  expect(lines.map((l) => [l.level, l.line, l.app, l.session])).toEqual([
    ["info", "hello", "a.b.c", "1"],
    ["info", "world", "a.b.c", "1"],
    ["warn", "oops", "a.b.c", "1"],
  ]);
});

test("a write cannot forge records: newlines split, long lines are cut, bad UTF-8 is replaced", () => {
  const { output, lines } = collect();
  output.write("stdout", new TextEncoder().encode("level=error msg=forged\n"));
  output.write("stdout", new Uint8Array([0xff, 0xfe, 0x0a]));
  output.write("stdout", new TextEncoder().encode("x".repeat(MAX_LINE * 2 + 5)));
  output.flush();
  expect(lines[0].line).toBe("level=error msg=forged");
  expect(lines[1].line).toBe("\ufffd\ufffd");
  expect(lines.slice(2).map((l) => l.line.length)).toEqual([MAX_LINE, MAX_LINE, 5]);
});

test("a multi-byte character split across writes survives", () => {
  const { output, lines } = collect();
  const bytes = new TextEncoder().encode("é\n");
  output.write("stdout", bytes.subarray(0, 1));
  output.write("stdout", bytes.subarray(1));
  expect(lines[0].line).toBe("é");
});
