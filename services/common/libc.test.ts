import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockExclusive, RENAME_EXCHANGE, RENAME_NOREPLACE, renameat2, SystemError, unlock } from "./libc.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-libc-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("renameat2", () => {
  test("RENAME_EXCHANGE swaps two directories atomically", () => {
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a/x"), "old");
    writeFileSync(join(dir, "b/x"), "new");
    renameat2(join(dir, "b"), join(dir, "a"), RENAME_EXCHANGE);
    expect(readFileSync(join(dir, "a/x"), "utf8")).toBe("new");
    expect(readFileSync(join(dir, "b/x"), "utf8")).toBe("old");
  });

  test("RENAME_NOREPLACE refuses an existing target with EEXIST", () => {
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    let error: unknown;
    try {
      renameat2(join(dir, "a"), join(dir, "b"), RENAME_NOREPLACE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SystemError);
    expect((error as SystemError).code).toBe("EEXIST");
    expect(existsSync(join(dir, "a"))).toBe(true);
  });

  test("a missing source is ENOENT and names the paths", () => {
    expect(() => renameat2(join(dir, "nope"), join(dir, "b"), 0)).toThrow(/ENOENT.*|nope/);
  });
});

describe("flock", () => {
  test("a second lock on another open file description is refused while the first is held", () => {
    const path = join(dir, "lock");
    writeFileSync(path, "");
    const first = openSync(path, "r");
    const second = openSync(path, "r");
    lockExclusive(first);
    expect(() => lockExclusive(second, false)).toThrow(/EAGAIN/);
    unlock(first);
    lockExclusive(second, false);
    closeSync(first);
    closeSync(second);
  });
});
