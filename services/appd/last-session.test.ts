import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { createLogger } from "../common/daemon/log.ts";
import { lastSessionPath, MAX_LAST_SESSION_BYTES, MAX_RESTORED_SESSIONS, takeLastSession, writeLastSession } from "./last-session.ts";

const root = mkdtempSync(join(tmpdir(), "weft-last-session-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function world() {
  const dir = join(root, `w${n++}`);
  mkdirSync(dir);
  const lines: string[] = [];
  return { dir, lines, log: createLogger("appd", { sink: (l) => lines.push(l) }) };
}

describe("last-session.json", () => {
  test("written at shutdown, read once and deleted", () => {
    const { dir, log } = world();
    writeLastSession(dir, ["org.weft.demo.counter", "org.weft.demo.counter", "org.weft.demo.notes"]);
    expect(takeLastSession(dir, log)).toEqual(["org.weft.demo.counter", "org.weft.demo.counter", "org.weft.demo.notes"]);
    expect(existsSync(lastSessionPath(dir))).toBe(false);
    expect(takeLastSession(dir, log)).toEqual([]);
  });

  test("hostile entries are skipped; a file of the wrong shape is ignored; both are deleted", () => {
    const { dir, log, lines } = world();
    const file = lastSessionPath(dir);
    writeFileSync(file, JSON.stringify(["../x", "Org.Weft.Demo", "", "a".repeat(10_000), "org.weft.demo.counter"]));
    expect(takeLastSession(dir, log)).toEqual(["org.weft.demo.counter"]);
    expect(lines.filter((l) => l.includes("skipping an entry")).length).toBe(4);
    for (const junk of ['{"apps":["org.weft.demo.counter"]}', "[1,2]", "not json", '["org.weft.demo.counter", 5]']) {
      writeFileSync(file, junk);
      expect(takeLastSession(dir, log)).toEqual([]);
      expect(existsSync(file)).toBe(false);
    }
  });

  test("too many entries: only the first ones; too large, a symlink or a FIFO: ignored", () => {
    const { dir, log } = world();
    const file = lastSessionPath(dir);
    writeFileSync(file, JSON.stringify(Array.from({ length: 100 }, () => "org.weft.demo.counter")));
    expect(takeLastSession(dir, log).length).toBe(MAX_RESTORED_SESSIONS);
    writeFileSync(file, JSON.stringify(["org.weft.demo.counter", "x".repeat(MAX_LAST_SESSION_BYTES)]));
    expect(takeLastSession(dir, log)).toEqual([]);
    const target = join(dir, "elsewhere.json");
    writeFileSync(target, JSON.stringify(["org.weft.demo.counter"]));
    symlinkSync(target, file);
    expect(takeLastSession(dir, log)).toEqual([]);
    expect(existsSync(target)).toBe(true); // the link's target is not touched
    execFileSync("mkfifo", [file]);
    expect(takeLastSession(dir, log)).toEqual([]); // and did not block
  });
});
