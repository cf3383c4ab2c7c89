/**
 * The few libc calls Bun does not expose, through bun:ffi, and the one way WEFT reads errno and reports a
 * failed system call: `SystemError` names the call, the errno (`EEXIST`) and its text, so callers see more
 * than a bare -1. The socket calls of the bus transport live in bus/libc.ts and use the same errors.
 */

import { dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  renameat2: { args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
});

const AT_FDCWD = -100;
/** Atomically swap two paths (both must exist): no moment where neither exists. Linux ≥ 3.15. */
export const RENAME_EXCHANGE = 1 << 1;
/** Fail with EEXIST instead of replacing the target. */
export const RENAME_NOREPLACE = 1 << 0;

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

const errnoNames: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 13: "EACCES", 16: "EBUSY",
  17: "EEXIST", 18: "EXDEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 28: "ENOSPC", 30: "EROFS",
  32: "EPIPE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 95: "EOPNOTSUPP",
  104: "ECONNRESET", 107: "ENOTCONN", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
};

/** A failed system call: `syscall` names it (with its target), `code` is the errno name, `errno` the number. */
export class SystemError extends Error {
  readonly code: string;

  constructor(
    readonly syscall: string,
    readonly errno: number,
    path?: string,
  ) {
    const code = errnoNames[errno] ?? `errno ${errno}`;
    super(`${syscall}${path === undefined ? "" : ` ${path}`}: ${code} (${libc.symbols.strerror(errno)})`);
    this.code = code;
    this.name = "SystemError";
  }
}

/** The calling thread's errno, read right after the failing call (nothing in between may touch it). */
export function errno(): number {
  const location = libc.symbols.__errno_location();
  return location === null ? 0 : (new Int32Array(toArrayBuffer(location, 0, 4))[0] ?? 0);
}

function fail(syscall: string, path?: string): never {
  throw new SystemError(syscall, errno(), path);
}

function cstr(path: string): Buffer {
  return Buffer.from(path + "\0", "utf8");
}

/** renameat2(2) relative to the working directory. */
export function renameat2(from: string, to: string, flags: number): void {
  const rc = libc.symbols.renameat2(AT_FDCWD, ptr(cstr(from)), AT_FDCWD, ptr(cstr(to)), flags);
  if (rc !== 0) fail("renameat2", `${from} -> ${to}`);
}

/** Takes an exclusive flock(2) on an open fd; with `wait: false` throws EAGAIN-coded SystemError when held. */
export function lockExclusive(fd: number, wait = true): void {
  for (;;) {
    if (libc.symbols.flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) === 0) return;
    const code = errno();
    if (code === 4) continue; // EINTR: a signal arrived while waiting; keep waiting.
    throw new SystemError("flock", code);
  }
}

export function unlock(fd: number): void {
  if (libc.symbols.flock(fd, LOCK_UN) !== 0) fail("flock");
}
