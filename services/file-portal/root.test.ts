import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { openFdCount } from "../../testing/bus.ts";
import { PortalError, type PortalErrorName } from "./errors.ts";
import { GrantTable } from "./grants.ts";
import { parseGuestPath } from "./paths.ts";
import { GrantedRoot, type RootLimits, type RootPath } from "./root.ts";

const limits: RootLimits = { maxFileBytes: 1024, maxListEntries: 50 };

let dir: string;
let documents: string;
let root: GrantedRoot;

function at(guest: string): RootPath {
  const path = parseGuestPath(guest);
  return { text: path.text, relative: path.segments.slice(2) };
}

function refusal(work: () => unknown): { name: PortalErrorName; message: string } {
  try {
    work();
  } catch (error) {
    if (error instanceof PortalError) return { name: error.errorName, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-portal-root-"));
  documents = join(dir, "Documents");
  mkdirSync(join(documents, "notes"), { recursive: true });
  writeFileSync(join(documents, "notes/todo.txt"), "buy milk");
  writeFileSync(join(dir, "secret"), "outside the root");
  root = GrantedRoot.open("xdg-documents", "/xdg/documents", documents, true);
});
afterEach(() => {
  root.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("operations beneath a root", () => {
  test("read, list, stat", () => {
    expect(root.read(at("/xdg/documents/notes/todo.txt"), limits).toString()).toBe("buy milk");
    writeFileSync(join(documents, "b.txt"), "bb");
    expect(root.list(at("/xdg/documents"), limits)).toEqual([
      ["b.txt", "file", 2n],
      ["notes", "directory", 0n],
    ]);
    const [type, size, modified] = root.stat(at("/xdg/documents/notes/todo.txt"));
    expect([type, size]).toEqual(["file", 8n]);
    expect(modified).toBe(BigInt(Math.floor(statSync(join(documents, "notes/todo.txt")).mtimeMs)));
    expect(root.stat(at("/xdg/documents"))[0]).toBe("directory");
  });

  test("write creates and replaces wholly, through a temporary file that does not stay", () => {
    root.write(at("/xdg/documents/notes/new.txt"), Buffer.from("fresh"), limits);
    expect(readFileSync(join(documents, "notes/new.txt"), "utf8")).toBe("fresh");
    root.write(at("/xdg/documents/notes/todo.txt"), Buffer.from("x"), limits);
    expect(readFileSync(join(documents, "notes/todo.txt"), "utf8")).toBe("x");
    expect(readdirSync(join(documents, "notes")).sort()).toEqual(["new.txt", "todo.txt"]);
  });

  test("a replaced file keeps its permissions", () => {
    chmodSync(join(documents, "notes/todo.txt"), 0o640);
    root.write(at("/xdg/documents/notes/todo.txt"), Buffer.from("x"), limits);
    expect(statSync(join(documents, "notes/todo.txt")).mode & 0o777).toBe(0o640);
  });

  test("mkdir and remove (files, empty directories; a non-empty one is NotEmpty)", () => {
    root.mkdir(at("/xdg/documents/made"));
    expect(statSync(join(documents, "made")).isDirectory()).toBe(true);
    expect(refusal(() => root.mkdir(at("/xdg/documents/made"))).name).toBe("Exists");
    expect(refusal(() => root.mkdir(at("/xdg/documents/missing/child"))).name).toBe("NotFound");
    expect(refusal(() => root.remove(at("/xdg/documents/notes"))).name).toBe("NotEmpty");
    root.remove(at("/xdg/documents/notes/todo.txt"));
    root.remove(at("/xdg/documents/notes"));
    root.remove(at("/xdg/documents/made"));
    expect(readdirSync(documents)).toEqual([]);
    expect(refusal(() => root.remove(at("/xdg/documents/made"))).name).toBe("NotFound");
  });

  test("the root itself cannot be written, removed or made", () => {
    expect(refusal(() => root.remove(at("/xdg/documents"))).name).toBe("InvalidPath");
    expect(refusal(() => root.write(at("/xdg/documents"), Buffer.from(""), limits)).name).toBe("InvalidPath");
    expect(refusal(() => root.mkdir(at("/xdg/documents"))).name).toBe("InvalidPath");
  });

  test("wrong types: read or write a directory, list a file, a file as a parent", () => {
    expect(refusal(() => root.read(at("/xdg/documents/notes"), limits)).name).toBe("WrongType");
    expect(refusal(() => root.write(at("/xdg/documents/notes"), Buffer.from("x"), limits)).name).toBe("WrongType");
    expect(refusal(() => root.list(at("/xdg/documents/notes/todo.txt"), limits)).name).toBe("WrongType");
    expect(refusal(() => root.read(at("/xdg/documents/notes/todo.txt/x"), limits)).name).toBe("WrongType");
  });

  test("a FIFO is listed as other and refused by read without blocking", () => {
    expect(spawnSync("mkfifo", [join(documents, "pipe")]).status).toBe(0);
    expect(root.list(at("/xdg/documents"), limits).find(([name]) => name === "pipe")).toEqual(["pipe", "other", 0n]);
    expect(refusal(() => root.read(at("/xdg/documents/pipe"), limits)).message).toContain("not a regular file");
  });

  test("size limits: a large file is not read, a large write is not made, a huge directory is not listed", () => {
    writeFileSync(join(documents, "big"), Buffer.alloc(limits.maxFileBytes + 1));
    expect(refusal(() => root.read(at("/xdg/documents/big"), limits)).name).toBe("TooLarge");
    expect(root.read(at("/xdg/documents/notes/todo.txt"), { ...limits, maxFileBytes: 8 }).length).toBe(8);
    expect(refusal(() => root.write(at("/xdg/documents/w"), Buffer.alloc(limits.maxFileBytes + 1), limits)).name).toBe("TooLarge");
    expect(existsSync(join(documents, "w"))).toBe(false);
    for (let i = 0; i < limits.maxListEntries; i++) writeFileSync(join(documents, `f${i}`), "");
    expect(refusal(() => root.list(at("/xdg/documents"), limits)).name).toBe("TooLarge");
  });

  test("names that are not UTF-8 are left out of List", () => {
    writeFileSync(Buffer.concat([Buffer.from(documents + "/bad-"), Buffer.from([0xff, 0xfe])]), "");
    expect(root.list(at("/xdg/documents"), limits).map(([name]) => name)).toEqual(["notes"]);
  });

  test("a read-only root refuses write, remove and mkdir, and still reads", () => {
    const readOnly = GrantedRoot.open("xdg-documents", "/xdg/documents", documents, false);
    try {
      expect(refusal(() => readOnly.write(at("/xdg/documents/notes/todo.txt"), Buffer.from("x"), limits)).name).toBe("ReadOnly");
      expect(refusal(() => readOnly.remove(at("/xdg/documents/notes/todo.txt"))).name).toBe("ReadOnly");
      expect(refusal(() => readOnly.mkdir(at("/xdg/documents/d"))).name).toBe("ReadOnly");
      expect(readOnly.read(at("/xdg/documents/notes/todo.txt"), limits).toString()).toBe("buy milk");
      expect(readdirSync(documents)).toEqual(["notes"]);
    } finally {
      readOnly.close();
    }
  });

  test("no fd is left open by any operation, failed ones included", () => {
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      root.read(at("/xdg/documents/notes/todo.txt"), limits);
      root.write(at("/xdg/documents/notes/todo.txt"), Buffer.from(`v${i}`), limits);
      root.list(at("/xdg/documents/notes"), limits);
      root.stat(at("/xdg/documents/notes"));
      refusal(() => root.read(at("/xdg/documents/nope"), limits));
      refusal(() => root.write(at("/xdg/documents/notes"), Buffer.from("x"), limits));
      root.mkdir(at("/xdg/documents/d"));
      root.remove(at("/xdg/documents/d"));
    }
    expect(openFdCount()).toBe(before);
  });
});

describe("hostile paths stay inside the root", () => {
  test("an absolute symlink inside the root is refused (AccessDenied), for every operation", () => {
    symlinkSync(join(dir, "secret"), join(documents, "abs"));
    symlinkSync("/etc", join(documents, "etc"));
    expect(refusal(() => root.read(at("/xdg/documents/abs"), limits))).toEqual({
      name: "AccessDenied",
      message: "/xdg/documents/abs leads outside /xdg/documents (through an absolute symlink or one pointing out of it): refused",
    });
    expect(refusal(() => root.read(at("/xdg/documents/etc/passwd"), limits)).name).toBe("AccessDenied");
    expect(refusal(() => root.list(at("/xdg/documents/etc"), limits)).name).toBe("AccessDenied");
    expect(refusal(() => root.stat(at("/xdg/documents/etc/passwd"))).name).toBe("AccessDenied");
    expect(refusal(() => root.write(at("/xdg/documents/etc/evil"), Buffer.from("x"), limits)).name).toBe("AccessDenied");
    expect(refusal(() => root.mkdir(at("/xdg/documents/etc/evil"))).name).toBe("AccessDenied");
  });

  test("a relative symlink climbing out of the root is refused", () => {
    symlinkSync("../../secret", join(documents, "notes/up"));
    symlinkSync("..", join(documents, "parent"));
    expect(refusal(() => root.read(at("/xdg/documents/notes/up"), limits)).name).toBe("AccessDenied");
    expect(refusal(() => root.read(at("/xdg/documents/parent/secret"), limits)).name).toBe("AccessDenied");
    expect(refusal(() => root.write(at("/xdg/documents/parent/secret"), Buffer.from("x"), limits)).name).toBe("AccessDenied");
    expect(readFileSync(join(dir, "secret"), "utf8")).toBe("outside the root");
  });

  test("a symlink that stays inside the root is followed for reading", () => {
    symlinkSync("notes/todo.txt", join(documents, "shortcut"));
    expect(root.read(at("/xdg/documents/shortcut"), limits).toString()).toBe("buy milk");
    expect(root.stat(at("/xdg/documents/shortcut"))[0]).toBe("file");
    expect(root.list(at("/xdg/documents"), limits).find(([n]) => n === "shortcut")).toEqual(["shortcut", "other", 0n]);
  });

  test("a final symlink is never followed by write or remove", () => {
    symlinkSync("notes/todo.txt", join(documents, "shortcut"));
    expect(refusal(() => root.write(at("/xdg/documents/shortcut"), Buffer.from("x"), limits))).toEqual({
      name: "WrongType",
      message: "/xdg/documents/shortcut is a symlink: Write replaces regular files only",
    });
    root.remove(at("/xdg/documents/shortcut"));
    expect(existsSync(join(documents, "shortcut"))).toBe(false);
    expect(readFileSync(join(documents, "notes/todo.txt"), "utf8")).toBe("buy milk");
  });

  test("a symlink loop is InvalidPath", () => {
    symlinkSync("loop-b", join(documents, "loop-a"));
    symlinkSync("loop-a", join(documents, "loop-b"));
    expect(refusal(() => root.read(at("/xdg/documents/loop-a"), limits)).name).toBe("InvalidPath");
    expect(refusal(() => root.write(at("/xdg/documents/loop-a/x"), Buffer.from("x"), limits)).name).toBe("InvalidPath");
  });

  test("/proc magic links are refused", () => {
    symlinkSync("/proc/self/root", join(documents, "proc-root"));
    symlinkSync("/proc/self/cwd", join(documents, "proc-cwd"));
    for (const name of ["proc-root/etc/passwd", "proc-cwd"]) {
      expect(["AccessDenied", "InvalidPath"]).toContain(refusal(() => root.read(at(`/xdg/documents/${name}`), limits)).name);
    }
  });

  test("magic links reached beneath a root are refused (a root on /proc/self, which appd would never grant)", () => {
    const proc = GrantedRoot.open("proc", "/proc", "/proc/self", false);
    try {
      for (const name of ["root/etc/passwd", "cwd", "exe", "fd/0"]) {
        expect({ name, refused: refusal(() => proc.read({ text: `/proc/${name}`, relative: name.split("/") }, limits)).name }).toEqual({
          name,
          refused: "InvalidPath",
        });
      }
      // procfs reports size 0: the content is read to its end all the same
      expect(proc.read({ text: "/proc/comm", relative: ["comm"] }, limits).toString()).toBe(readFileSync("/proc/self/comm", "utf8"));
    } finally {
      proc.close();
    }
  });

  test("a root replaced by a symlink after registration does not redirect: the held directory counts", () => {
    renameSync(documents, join(dir, "Moved"));
    mkdirSync(join(dir, "elsewhere"));
    writeFileSync(join(dir, "elsewhere/todo.txt"), "not this");
    symlinkSync(join(dir, "elsewhere"), documents);
    expect(root.read(at("/xdg/documents/notes/todo.txt"), limits).toString()).toBe("buy milk");
    root.write(at("/xdg/documents/notes/after.txt"), Buffer.from("moved"), limits);
    expect(readFileSync(join(dir, "Moved/notes/after.txt"), "utf8")).toBe("moved");
    expect(existsSync(join(dir, "elsewhere/notes"))).toBe(false);
  });
});

describe("GrantTable", () => {
  test("registers, replaces, revokes, and closes every directory it opened", () => {
    const before = openFdCount();
    const table = new GrantTable();
    table.register(7n, [["xdg-documents", documents, true]]);
    expect(table.get(7n)?.describe()).toBe("/xdg/documents");
    table.register(7n, [["xdg-documents", documents, false], ["media", dir, false]]);
    expect(table.get(7n)?.describe()).toBe("/xdg/documents (read-only), /media (read-only)");
    expect(openFdCount()).toBe(before + 2);
    expect(table.revoke(7n)).toBe(true);
    expect(table.revoke(7n)).toBe(false);
    expect(openFdCount()).toBe(before);
    table.register(8n, [["xdg-documents", documents, true]]);
    table.close();
    expect(openFdCount()).toBe(before);
  });

  test("locates a path in the root whose prefix it starts with, segment by segment", () => {
    const table = new GrantTable();
    const grants = table.register(7n, [["xdg-documents", documents, true]]);
    expect(grants.locate(parseGuestPath("/xdg/documents/notes/todo.txt"))?.path.relative).toEqual(["notes", "todo.txt"]);
    expect(grants.locate(parseGuestPath("/xdg/documents"))?.path.relative).toEqual([]);
    expect(grants.locate(parseGuestPath("/xdg/documentsX/a"))).toBeUndefined();
    expect(grants.locate(parseGuestPath("/xdg"))).toBeUndefined();
    expect(grants.locate(parseGuestPath("/etc/passwd"))).toBeUndefined();
    table.close();
  });

  test("a bad registration is InvalidGrant and leaves the previous grants and no fd behind", () => {
    const table = new GrantTable();
    table.register(7n, [["xdg-documents", documents, true]]);
    const before = openFdCount();
    const bad: [string, unknown][] = [
      ["relative host path", [["xdg-documents", "Documents", true]]],
      ["missing directory", [["media", dir, true], ["xdg-documents", join(dir, "nope"), true]]],
      ["a file, not a directory", [["xdg-documents", join(dir, "secret"), true]]],
      ["bad name", [["Xdg", documents, true]]],
      ["duplicate", [["xdg-documents", documents, true], ["xdg-documents", dir, true]]],
      ["nested prefixes", [["xdg", dir, true], ["xdg-documents", documents, true]]],
      ["too many", Array.from({ length: 17 }, (_, i) => [`r${"x".repeat(i)}`, documents, true])],
    ];
    for (const [why, roots] of bad) {
      expect({ why, name: refusal(() => table.register(7n, roots)).name }).toEqual({ why, name: "InvalidGrant" });
    }
    expect(openFdCount()).toBe(before);
    expect(table.get(7n)?.describe()).toBe("/xdg/documents");
    table.close();
  });
});
