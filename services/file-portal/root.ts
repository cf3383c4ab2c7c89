/**
 * One granted root: a host directory held open as an O_PATH fd, and every operation a session may do beneath
 * it. Each guest path is resolved by the kernel, relative to that fd, with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS): `..` cannot climb above the root, an absolute symlink or one leading out of the root
 * fails (EXDEV), /proc magic links fail (ELOOP). There is no "resolve the path, check it, then open it" step
 * that a concurrent rename or symlink swap could race.
 *
 *   host:  /home/u/Documents  ──open once at RegisterGrants──►  rootFd (O_PATH|O_DIRECTORY)
 *   guest: /xdg/documents/notes/todo.txt
 *            └─ prefix ─┘ └─ relative ──┘  ──openat2(rootFd, "notes/todo.txt", …, RESOLVE_BENEATH…)──►  fd
 *
 * Operations that change a name (Write, Remove, Mkdir) open the parent directory that way and then act on
 * the last segment with a *at call relative to it; that segment is a single name (never `/`, `.`, `..`), so
 * nothing more is resolved and a final symlink is never followed: Write refuses to replace it, Remove removes
 * the link itself.
 *
 * Everything here is synchronous: an operation never yields between finding its root and finishing, so a
 * RevokeGrants that closes the fd cannot interleave with it.
 */

import { closeSync, fchmodSync, fsyncSync, readSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  mkdirat,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat2,
  readDirectory,
  renameatIn,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  statx,
  SystemError,
  unlinkat,
  type FileKind,
  type FileStatus,
} from "../common/os/libc.ts";
import { PortalError, refusalOf } from "./errors.ts";

const BENEATH = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

/** What List and Stat call an entry: regular files, directories, and everything else. */
export type EntryType = "file" | "directory" | "other";

/** One List entry as it goes on the bus: (name, type, size). */
export type ListEntry = [name: string, type: EntryType, size: bigint];

/** Stat's answer as it goes on the bus: (type, size, modified ms since the epoch). */
export type EntryInfo = [type: EntryType, size: bigint, modifiedMs: bigint];

export interface RootLimits {
  /** The largest file Read returns and Write accepts. */
  maxFileBytes: number;
  /** The most entries List returns. */
  maxListEntries: number;
}

/** A path beneath a root: the guest's text (for messages) and the segments after the root's prefix. */
export interface RootPath {
  readonly text: string;
  readonly relative: readonly string[];
}

function entryType(kind: FileKind): EntryType {
  return kind === "file" || kind === "directory" ? kind : "other";
}

function sizeOf(status: FileStatus): bigint {
  return status.kind === "file" ? status.size : 0n;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function utf8Name(raw: Buffer): string | undefined {
  try {
    return utf8.decode(raw);
  } catch {
    return undefined;
  }
}

/** Removes a temporary file after a failed write; the write's own error is the one worth reporting. */
function unlinkQuietly(dirfd: number, name: string): void {
  try {
    unlinkat(dirfd, name, 0);
  } catch {
    // already gone, or never created
  }
}

export class GrantedRoot {
  #fd: number;

  private constructor(
    /** The root's name, e.g. `xdg-documents`. */
    readonly name: string,
    /** Its guest prefix, e.g. `/xdg/documents`. */
    readonly guestPrefix: string,
    readonly writable: boolean,
    fd: number,
  ) {
    this.#fd = fd;
  }

  /**
   * Opens `hostPath` (absolute, an existing directory) and holds it. Throws PortalError InvalidGrant.
   * The host path comes from appd, which is trusted to name the user's folder: it is opened as it is now,
   * symlinks included; from then on only the held directory counts.
   */
  static open(name: string, guestPrefix: string, hostPath: string, writable: boolean): GrantedRoot {
    try {
      return new GrantedRoot(name, guestPrefix, writable, openat2(AT_FDCWD, hostPath, { flags: O_PATH | O_DIRECTORY | O_CLOEXEC }));
    } catch (error) {
      if (error instanceof SystemError) {
        throw new PortalError("InvalidGrant", `root ${name}: cannot open ${hostPath} as a directory (${error.code})`);
      }
      throw error;
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /** The whole content of a regular file. */
  read(path: RootPath, limits: RootLimits): Buffer {
    return this.#attempt(path, () => {
      // O_NONBLOCK: opening a FIFO must not wait for a writer; anything but a regular file is refused below.
      const fd = this.#open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      try {
        const status = statx(fd, "", AT_EMPTY_PATH, path.text);
        if (status.kind !== "file") {
          throw new PortalError("WrongType", `${path.text} is ${status.kind === "directory" ? "a directory: use List" : "not a regular file"}`);
        }
        if (status.size > BigInt(limits.maxFileBytes)) throw this.#tooLarge(path, status.size, limits);
        // statx's size is a hint (procfs says 0; a file may grow meanwhile): read until EOF, growing the
        // buffer, but never more than one byte past the limit, which is how a file that grew is caught.
        const cap = limits.maxFileBytes + 1;
        let buffer = Buffer.allocUnsafe(Math.min(Number(status.size) + 1, cap));
        let length = 0;
        while (length < cap) {
          if (length === buffer.length) {
            const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, cap));
            buffer.copy(larger, 0, 0, length);
            buffer = larger;
          }
          const n = readSync(fd, buffer, length, buffer.length - length, null);
          if (n === 0) break;
          length += n;
        }
        if (length > limits.maxFileBytes) throw this.#tooLarge(path, BigInt(length), limits);
        return buffer.subarray(0, length);
      } finally {
        closeSync(fd);
      }
    });
  }

  /**
   * Creates or replaces a regular file atomically: a temporary file beside it (created O_EXCL beneath the
   * root), written, fsynced, renamed over the target relative to the parent fd, and the parent fsynced.
   */
  write(path: RootPath, data: Uint8Array, limits: RootLimits): void {
    const name = this.#lastSegment(path, "write");
    this.#requireWritable(path, "write");
    if (data.length > limits.maxFileBytes) throw this.#tooLarge(path, BigInt(data.length), limits);
    this.#attempt(path, () => {
      const parent = this.#openParent(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      try {
        const existing = this.#statIfPresent(parent, name, path);
        if (existing !== undefined && existing.kind !== "file") {
          throw new PortalError("WrongType", `${path.text} is a ${existing.kind === "directory" ? "directory" : existing.kind === "symlink" ? "symlink" : "special file"}: Write replaces regular files only`);
        }
        const temporary = `.weft-portal-${randomBytes(8).toString("hex")}.tmp`;
        const fd = openat2(parent, temporary, {
          flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
          mode: existing === undefined ? 0o666 : 0o600,
          resolve: BENEATH | RESOLVE_NO_SYMLINKS,
        }, path.text);
        let open = true;
        let renamed = false;
        try {
          if (existing !== undefined) fchmodSync(fd, existing.permissions & 0o777);
          for (let written = 0; written < data.length; ) written += writeSync(fd, data, written, data.length - written);
          fsyncSync(fd);
          open = false;
          closeSync(fd);
          renameatIn(parent, temporary, parent, name, 0, path.text);
          renamed = true;
        } finally {
          if (open) closeSync(fd);
          if (!renamed) unlinkQuietly(parent, temporary);
        }
        fsyncSync(parent); // the rename itself reaches the disk
      } finally {
        closeSync(parent);
      }
    });
  }

  /** The entries of a directory, sorted bytewise by name; names that are not UTF-8 are left out. */
  list(path: RootPath, limits: RootLimits): ListEntry[] {
    return this.#attempt(path, () => {
      const fd = this.#open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      try {
        const raw = readDirectory(fd, limits.maxListEntries + 1, path.text);
        if (raw.length > limits.maxListEntries) {
          throw new PortalError("TooLarge", `${path.text} has more than ${limits.maxListEntries} entries`);
        }
        raw.sort((a, b) => Buffer.compare(a.name, b.name));
        const entries: ListEntry[] = [];
        for (const entry of raw) {
          const name = utf8Name(entry.name);
          if (name === undefined) continue;
          // The name is one segment from the directory itself: statx relative to fd resolves nothing further.
          const status = this.#statIfPresent(fd, name, path);
          if (status === undefined) continue; // removed while listing
          entries.push([name, entryType(status.kind), sizeOf(status)]);
        }
        return entries;
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Type, size and modification time; a symlink that stays beneath the root is described by its target. */
  stat(path: RootPath): EntryInfo {
    return this.#attempt(path, () => {
      const fd = this.#open(path, O_PATH | O_CLOEXEC);
      try {
        const status = statx(fd, "", AT_EMPTY_PATH, path.text);
        return [entryType(status.kind), sizeOf(status), status.modifiedMs];
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Removes a file, a symlink (never its target) or an empty directory. */
  remove(path: RootPath): void {
    const name = this.#lastSegment(path, "remove");
    this.#requireWritable(path, "remove");
    this.#attempt(path, () => {
      const parent = this.#openParent(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      try {
        const status = statx(parent, name, AT_SYMLINK_NOFOLLOW, path.text);
        unlinkat(parent, name, status.kind === "directory" ? AT_REMOVEDIR : 0, path.text);
      } finally {
        closeSync(parent);
      }
    });
  }

  /** Creates one directory; its parent must exist. */
  mkdir(path: RootPath): void {
    const name = this.#lastSegment(path, "create");
    this.#requireWritable(path, "create directories in");
    this.#attempt(path, () => {
      const parent = this.#openParent(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      try {
        mkdirat(parent, name, 0o777, path.text);
      } finally {
        closeSync(parent);
      }
    });
  }

  #attempt<T>(path: RootPath, work: () => T): T {
    if (this.#fd < 0) throw new PortalError("NotGranted", `${this.guestPrefix} is no longer granted`);
    try {
      return work();
    } catch (error) {
      throw refusalOf(error, path.text, this.guestPrefix);
    }
  }

  #open(path: RootPath, flags: number): number {
    return openat2(this.#fd, path.relative.length === 0 ? "." : path.relative.join("/"), { flags, resolve: BENEATH }, path.text);
  }

  #openParent(path: RootPath, flags: number): number {
    return this.#open({ text: path.text, relative: path.relative.slice(0, -1) }, flags);
  }

  #statIfPresent(dirfd: number, name: string, path: RootPath): FileStatus | undefined {
    try {
      return statx(dirfd, name, AT_SYMLINK_NOFOLLOW, path.text);
    } catch (error) {
      if (error instanceof SystemError && error.code === "ENOENT") return undefined;
      throw error;
    }
  }

  #lastSegment(path: RootPath, verb: string): string {
    const name = path.relative.at(-1);
    if (name === undefined) throw new PortalError("InvalidPath", `${path.text} is the root itself: cannot ${verb} it`);
    return name;
  }

  #requireWritable(path: RootPath, verb: string): void {
    if (!this.writable) throw new PortalError("ReadOnly", `${this.guestPrefix} is granted read-only: cannot ${verb} ${path.text}`);
  }

  #tooLarge(path: RootPath, size: bigint, limits: RootLimits): PortalError {
    return new PortalError("TooLarge", `${path.text}: ${size} bytes is more than the portal's limit of ${limits.maxFileBytes} bytes`);
  }
}
