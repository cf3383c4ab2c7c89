import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  lockExclusive,
  mkdirat,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat2,
  readDirectory,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  renameat2,
  renameatIn,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  statx,
  SystemError,
  unlinkat,
  unlock,
} from "./libc.ts";

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    if (error instanceof SystemError) return error.code;
    throw error;
  }
  return undefined;
}

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

describe("openat2 beneath a directory fd", () => {
  const beneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  let root: number;
  beforeEach(() => {
    mkdirSync(join(dir, "root/sub"), { recursive: true });
    writeFileSync(join(dir, "root/sub/file"), "inside");
    writeFileSync(join(dir, "outside"), "outside");
    root = openat2(AT_FDCWD, join(dir, "root"), { flags: O_PATH | O_DIRECTORY | O_CLOEXEC });
  });
  afterEach(() => closeSync(root));

  test("opens a path beneath the root and reads it", () => {
    const fd = openat2(root, "sub/file", { flags: O_RDONLY | O_CLOEXEC, resolve: beneath });
    const buffer = Buffer.alloc(16);
    const n = readSync(fd, buffer, 0, 16, null);
    closeSync(fd);
    expect(buffer.subarray(0, n).toString()).toBe("inside");
  });

  test("`..` above the root, absolute paths and escaping symlinks are EXDEV", () => {
    symlinkSync("../../outside", join(dir, "root/sub/up"));
    symlinkSync(join(dir, "outside"), join(dir, "root/absolute"));
    expect(codeOf(() => openat2(root, "../outside", { flags: O_RDONLY, resolve: beneath }))).toBe("EXDEV");
    expect(codeOf(() => openat2(root, join(dir, "outside"), { flags: O_RDONLY, resolve: beneath }))).toBe("EXDEV");
    expect(codeOf(() => openat2(root, "sub/up", { flags: O_RDONLY, resolve: beneath }))).toBe("EXDEV");
    expect(codeOf(() => openat2(root, "absolute", { flags: O_RDONLY, resolve: beneath }))).toBe("EXDEV");
  });

  test("a magic link is refused; O_NOFOLLOW refuses a final symlink with ELOOP", () => {
    symlinkSync("/proc/self/root", join(dir, "root/magic"));
    symlinkSync("sub/file", join(dir, "root/link"));
    expect(codeOf(() => openat2(root, "magic/etc/passwd", { flags: O_RDONLY, resolve: beneath }))).toMatch(/EXDEV|ELOOP/);
    expect(codeOf(() => openat2(AT_FDCWD, "/proc/self/root/etc/hostname", { flags: O_RDONLY, resolve: RESOLVE_NO_MAGICLINKS }))).toBe("ELOOP");
    expect(codeOf(() => openat2(root, "link", { flags: O_RDONLY | O_NOFOLLOW, resolve: beneath }))).toBe("ELOOP");
  });

  test("O_CREAT with a mode creates; openat2 refuses a mode without O_CREAT (EINVAL)", () => {
    const dirFd = openat2(root, "sub", { flags: O_RDONLY | O_DIRECTORY, resolve: beneath });
    closeSync(openat2(dirFd, "new", { flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, resolve: beneath }));
    expect(existsSync(join(dir, "root/sub/new"))).toBe(true);
    expect(codeOf(() => openat2(dirFd, "new", { flags: O_RDONLY, mode: 0o600 }))).toBe("EINVAL");
    closeSync(dirFd);
  });

  test("a missing path is ENOENT and the error names the label", () => {
    expect(() => openat2(root, "nope", { flags: O_RDONLY, resolve: beneath }, "/xdg/documents/nope")).toThrow(
      "openat2 /xdg/documents/nope: ENOENT",
    );
  });
});

describe("statx, readDirectory, mkdirat, unlinkat, renameatIn", () => {
  test("statx describes files, directories and symlinks (not followed with AT_SYMLINK_NOFOLLOW)", () => {
    writeFileSync(join(dir, "f"), "12345");
    symlinkSync("f", join(dir, "l"));
    const fd = openat2(AT_FDCWD, dir, { flags: O_PATH | O_DIRECTORY });
    const file = statx(fd, "f", AT_SYMLINK_NOFOLLOW);
    expect(file.kind).toBe("file");
    expect(file.size).toBe(5n);
    expect(Number(file.modifiedMs)).toBeGreaterThan(Date.now() - 60_000);
    expect(statx(fd, "l", AT_SYMLINK_NOFOLLOW).kind).toBe("symlink");
    expect(statx(fd, "l", 0).kind).toBe("file");
    expect(statx(fd, "", AT_EMPTY_PATH).kind).toBe("directory");
    closeSync(fd);
  });

  test("readDirectory lists every entry but . and .., and stops at the limit", () => {
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, `file-${i}`), "");
    mkdirSync(join(dir, "subdir"));
    const fd = openat2(AT_FDCWD, dir, { flags: O_RDONLY | O_DIRECTORY });
    const entries = readDirectory(fd);
    closeSync(fd);
    expect(entries.length).toBe(301);
    expect(entries.find((e) => e.name.toString() === "subdir")?.kind).toBe("directory");
    expect(entries.find((e) => e.name.toString() === "file-7")?.kind).toBe("file");
    const again = openat2(AT_FDCWD, dir, { flags: O_RDONLY | O_DIRECTORY });
    expect(readDirectory(again, 10).length).toBe(10);
    closeSync(again);
  });

  test("mkdirat, renameatIn and unlinkat work relative to a directory fd", () => {
    const fd = openat2(AT_FDCWD, dir, { flags: O_PATH | O_DIRECTORY });
    mkdirat(fd, "made", 0o755);
    expect(codeOf(() => mkdirat(fd, "made", 0o755))).toBe("EEXIST");
    writeFileSync(join(dir, "a"), "a");
    writeFileSync(join(dir, "b"), "b");
    renameatIn(fd, "a", fd, "b", 0);
    expect(readFileSync(join(dir, "b"), "utf8")).toBe("a");
    expect(existsSync(join(dir, "a"))).toBe(false);
    writeFileSync(join(dir, "made/x"), "");
    expect(codeOf(() => unlinkat(fd, "made", AT_REMOVEDIR))).toBe("ENOTEMPTY");
    expect(codeOf(() => unlinkat(fd, "made", 0))).toBe("EISDIR");
    unlinkat(fd, "made/x", 0);
    unlinkat(fd, "made", AT_REMOVEDIR);
    unlinkat(fd, "b", 0);
    closeSync(fd);
    const listing = openat2(AT_FDCWD, dir, { flags: O_RDONLY | O_DIRECTORY });
    expect(readDirectory(listing).length).toBe(0);
    closeSync(listing);
  });
});
