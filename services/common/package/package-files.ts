/**
 * The file tree of a package, walked the way signing and bundling need it: every regular file and directory
 * under the package root, with names that are valid UTF-8 and can be written on one line of the signed text.
 *
 * What the walk refuses, and why:
 *   symlinks        the reference followed symlinked directories, so a signature could "cover" files outside
 *                   the package (or a link could later be re-pointed without touching a signed byte);
 *                   WEFT packages hold no links at all
 *   FIFOs, devices, sockets
 *                   reading them blocks or has side effects; they are never part of an app
 *   non-UTF-8 names, names with a tab or newline
 *                   the signed text is `path\thash\n` lines: such names would make it ambiguous
 *   more than `maxFiles` files, `maxTotalBytes` bytes, `maxDepth` levels
 *                   a package is an app, not a file system; the caps keep a hostile tree from exhausting
 *                   memory or time (a bind mount of a parent inside the package would otherwise loop)
 *
 * The walk lstat()s every entry and never follows a link. Files are then opened with O_NOFOLLOW|O_NONBLOCK
 * and re-checked with fstat, so a file swapped for a link or a FIFO between the listing and the read is refused
 * instead of followed or waited on. (Intermediate directories could still be swapped by someone who can write
 * to the package while it is verified; such a person can change it after verification anyway, so packages are
 * verified where only their owner can write: the store's staging directory.)
 */

import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, type Stats, statSync } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { join } from "node:path";

export interface PackageLimits {
  /** Regular files in the package (directories are not counted). */
  maxFiles: number;
  /** Sum of the sizes of all regular files. */
  maxTotalBytes: number;
  /** Directory levels below the package root. */
  maxDepth: number;
}

export const DEFAULT_PACKAGE_LIMITS: Readonly<PackageLimits> = {
  maxFiles: 100_000,
  maxTotalBytes: 4 * 1024 ** 3,
  maxDepth: 64,
};

export type PackageContentProblem =
  | "symlink"
  | "special-file"
  | "bad-name"
  | "too-many-files"
  | "too-large"
  | "too-deep"
  | "changed"
  | "not-a-directory";

/** A package tree that cannot be signed, verified or bundled; `path` is relative to the package root. */
export class PackageContentError extends Error {
  constructor(
    readonly problem: PackageContentProblem,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "PackageContentError";
  }
}

export interface PackageFile {
  /** Relative, `/`-separated path. */
  path: string;
  /** The UTF-8 bytes of `path`: the sort key of SPEC 3.3 (byte-wise, not UTF-16 code units). */
  pathBytes: Buffer;
  /** Size seen by lstat during the walk. */
  size: number;
  /** Whether any execute bit is set (bundles keep it as 0755). */
  executable: boolean;
}

export interface PackageTree {
  /** Regular files, sorted byte-wise by `pathBytes`. */
  files: PackageFile[];
  /** Relative paths of every directory below the root (empty ones included), sorted byte-wise. */
  directories: string[];
  totalBytes: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Byte-wise order of UTF-8 paths, the order Rust's `String` comparison gives (SPEC 3.3 step 2). */
export function comparePathBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function utf8Bytes(text: string): Buffer {
  return Buffer.from(utf8Encoder.encode(text));
}

/** Why a single path component is unusable in a package, or undefined. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name === "." || name === "..") return `is ${JSON.stringify(name)}`;
  if (name.includes("/")) return "contains '/'";
  if (name.includes("\0")) return "contains a NUL byte";
  if (name.includes("\t")) return "contains a tab, which would make the signed file list ambiguous";
  if (name.includes("\n")) return "contains a newline, which would make the signed file list ambiguous";
  return undefined;
}

/** Printable ASCII as is, every other byte as `\xNN`: shows a name that is not UTF-8 without mangling it. */
export function escapeBytes(raw: Uint8Array): string {
  let out = "";
  for (const byte of raw) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x22 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** Decodes a raw directory entry name, refusing bytes that are not UTF-8 (the reference could not sign them). */
export function decodeName(raw: Uint8Array, parent: string): string {
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    const shown = parent === "" ? escapeBytes(raw) : `${parent}/${escapeBytes(raw)}`;
    throw new PackageContentError("bad-name", shown, `"${shown}": file name is not valid UTF-8`);
  }
  const problem = nameProblem(name);
  if (problem !== undefined) {
    const rel = parent === "" ? name : `${parent}/${name}`;
    throw new PackageContentError("bad-name", rel, `${JSON.stringify(rel)}: file name ${problem}`);
  }
  return name;
}

function kindOf(s: Stats): string {
  if (s.isSymbolicLink()) return "a symlink";
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  return "not a regular file or directory";
}

function refuse(rel: string, s: Stats): PackageContentError {
  if (s.isSymbolicLink()) {
    return new PackageContentError(
      "symlink",
      rel,
      `${JSON.stringify(rel)} is a symlink: WEFT packages may not contain symlinks (copy the target into the package instead)`,
    );
  }
  return new PackageContentError(
    "special-file",
    rel,
    `${JSON.stringify(rel)} is ${kindOf(s)}: packages hold only regular files and directories`,
  );
}

/*
 * Speed: the walk and the hashing use synchronous system calls. Through Bun's thread pool each async fs call
 * costs 15–40 µs, against 2–6 µs for the sync call, and a package is mostly small files: verifying 2000 small
 * files plus 45 MB took ~120 ms async and ~60 ms sync. To keep a service's event loop responsive, both loops
 * yield (setImmediate) every YIELD_EVERY_MS milliseconds of work.
 */
const YIELD_EVERY_MS = 8;

/** Returns a function that yields to the event loop when the current slice of work has run long enough. */
function cooperativeYield(): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < YIELD_EVERY_MS) return undefined;
    return new Promise<void>((resume) =>
      setImmediate(() => {
        sliceStart = performance.now();
        resume();
      }),
    );
  };
}

/**
 * Lists the package at `root`: every regular file and directory, recursively, without following links.
 * `root` itself may be reached through a symlink (the caller named it); nothing inside may be one.
 */
export async function walkPackage(root: string, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): Promise<PackageTree> {
  const rootStat = statSync(root);
  if (!rootStat.isDirectory()) {
    throw new PackageContentError("not-a-directory", "", `${root} is not a directory`);
  }
  const files: PackageFile[] = [];
  const directories: string[] = [];
  const seenDirectories = new Set<string>([`${rootStat.dev}:${rootStat.ino}`]);
  const pause = cooperativeYield();
  let totalBytes = 0;

  // Depth-first with an explicit stack: no recursion depth to worry about, and an easy place to yield.
  const pending: { rel: string; depth: number }[] = [{ rel: "", depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { rel: relDir, depth } = next;
    const absDir = relDir === "" ? root : join(root, relDir);
    // Buffer names: Bun would replace invalid UTF-8 with U+FFFD in string names, hiding the problem.
    const rawNames = readdirSync(absDir, { encoding: "buffer" }) as Buffer[];
    for (const raw of rawNames) {
      const name = decodeName(raw, relDir);
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      const s = lstatSync(join(absDir, name));
      if (s.isFile()) {
        if (files.length >= limits.maxFiles) {
          throw new PackageContentError("too-many-files", rel, `package has more than ${limits.maxFiles} files`);
        }
        totalBytes += s.size;
        if (totalBytes > limits.maxTotalBytes) {
          throw new PackageContentError(
            "too-large",
            rel,
            `package is larger than ${limits.maxTotalBytes} bytes (reached at ${JSON.stringify(rel)})`,
          );
        }
        files.push({ path: rel, pathBytes: utf8Bytes(rel), size: s.size, executable: (s.mode & 0o111) !== 0 });
      } else if (s.isDirectory()) {
        // Without symlinks a directory can only be reached twice through a bind mount: refuse the loop.
        const identity = `${s.dev}:${s.ino}`;
        if (seenDirectories.has(identity)) {
          throw new PackageContentError("special-file", rel, `${JSON.stringify(rel)} is a directory seen twice (a bind mount loop?)`);
        }
        seenDirectories.add(identity);
        if (depth + 1 > limits.maxDepth) {
          throw new PackageContentError("too-deep", rel, `${JSON.stringify(rel)} is nested deeper than ${limits.maxDepth} directories`);
        }
        directories.push(rel);
        pending.push({ rel, depth: depth + 1 });
      } else {
        throw refuse(rel, s);
      }
      await pause();
    }
  }
  files.sort((a, b) => comparePathBytes(a.pathBytes, b.pathBytes));
  directories.sort((a, b) => comparePathBytes(utf8Bytes(a), utf8Bytes(b)));
  return { files, directories, totalBytes };
}

const OPEN_FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const READ_CHUNK = 1024 * 1024;

function changed(rel: string): PackageContentError {
  return new PackageContentError("changed", rel, `${JSON.stringify(rel)} changed while the package was being read`);
}

/** open(2) a listed file without following a link or blocking on a FIFO; the fd is checked with fstat. */
function openListedFileSync(abs: string, file: PackageFile): number {
  let fd: number;
  try {
    fd = openSync(abs, OPEN_FILE_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new PackageContentError("symlink", file.path, `${JSON.stringify(file.path)} became a symlink while being read`);
    }
    throw error;
  }
  const s = fstatSync(fd);
  if (!s.isFile()) {
    closeSync(fd);
    throw refuse(file.path, s);
  }
  if (s.size !== file.size) {
    closeSync(fd);
    throw changed(file.path);
  }
  return fd;
}

/**
 * SHA-256 (lowercase hex) of every listed file, in order, with native hashing. Each file is read through one
 * reused buffer, one byte more than expected when it fits, so a file that grew is noticed by the same read.
 */
export async function hashListedFiles(root: string, files: readonly PackageFile[]): Promise<string[]> {
  const buffer = Buffer.allocUnsafe(READ_CHUNK + 1);
  const pause = cooperativeYield();
  const hashes: string[] = [];
  for (const file of files) {
    const fd = openListedFileSync(join(root, file.path), file);
    try {
      const hasher = new Bun.CryptoHasher("sha256");
      let total = 0;
      for (;;) {
        const want = Math.min(READ_CHUNK, file.size - total) + 1;
        const bytesRead = readSync(fd, buffer, 0, want, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > file.size) throw changed(file.path);
        hasher.update(buffer.subarray(0, bytesRead));
        if (total === file.size && bytesRead < want) break;
        await pause();
      }
      if (total !== file.size) throw changed(file.path);
      hashes.push(hasher.digest("hex"));
    } finally {
      closeSync(fd);
    }
    await pause();
  }
  return hashes;
}

/**
 * Opens a listed file for streaming (bundling), with the same checks as hashing: no link, no FIFO, the size
 * the walk saw.
 */
export async function openListedFile(abs: string, rel: string, expectedSize: number): Promise<FileHandle> {
  let handle;
  try {
    handle = await open(abs, OPEN_FILE_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new PackageContentError("symlink", rel, `${JSON.stringify(rel)} became a symlink while being read`);
    }
    throw error;
  }
  const s = await handle.stat();
  if (!s.isFile()) {
    await handle.close();
    throw refuse(rel, s);
  }
  if (s.size !== expectedSize) {
    await handle.close();
    throw changed(rel);
  }
  return handle;
}

export interface ReadSmallFileOptions {
  /** Refuse a symlink at `path` itself (files inside packages); trust-store and key files may be links. */
  noFollow: boolean;
  maxBytes: number;
}

export class SmallFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: "not-a-regular-file" | "too-large" | "symlink",
    /** What is wrong, without the file name: "is a symlink". */
    readonly reason: string,
  ) {
    super(`${file} ${reason}`);
    this.name = "SmallFileError";
  }
}

/**
 * Reads a small regular file (a key, a signature) as text. Opening with O_NONBLOCK and checking fstat means a
 * FIFO or device named like a key file is reported instead of blocking the caller forever.
 */
export async function readSmallRegularFile(path: string, options: ReadSmallFileOptions): Promise<string> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    if (options.noFollow && (error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new SmallFileError(path, "symlink", "is a symlink");
    }
    throw error;
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw new SmallFileError(path, "not-a-regular-file", "is not a regular file");
    const buffer = Buffer.alloc(options.maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > options.maxBytes) {
      throw new SmallFileError(path, "too-large", `is larger than ${options.maxBytes} bytes`);
    }
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** lstat that answers undefined for a missing path instead of throwing. */
export async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
