/**
 * The few libc calls Bun does not expose, through bun:ffi, and the one way WEFT reads errno and reports a
 * failed system call: `SystemError` names the call, the errno (`EEXIST`) and its text, so callers see more
 * than a bare -1. libc is bound once, here, for every caller: the bus transport's socket helpers (bus/libc.ts),
 * sd_notify, the tests' notify listener.
 *
 * The dirfd-relative calls (openat2, statx, getdents64, mkdirat, unlinkat, renameat2 between dirfds) let a
 * service work beneath a directory it holds open, so that no name outside it is ever looked up: the file
 * portal resolves every guest path this way. Linux only, LP64 (x86_64 and aarch64 share every number and
 * layout used here).
 */

import { dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  // Sockets and descriptors (bus/libc.ts, sd-notify.ts).
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  sendmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64_fast },
  recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64_fast },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64_fast },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  shutdown: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // Files beneath a directory fd.
  renameat2: { args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  // glibc 2.36 has no openat2 wrapper: the generic syscall(2) entry, which takes its arguments in registers.
  syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  getdents64: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  mkdirat: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  unlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
});

/** libc's functions; every one returns -1 (or a negative count) and sets errno on failure: read it with `errno()`. */
export const libcCalls = libc.symbols;

/** `dirfd` value meaning "relative to the working directory". */
export const AT_FDCWD = -100;
/** Atomically swap two paths (both must exist): no moment where neither exists. Linux ≥ 3.15. */
export const RENAME_EXCHANGE = 1 << 1;
/** Fail with EEXIST instead of replacing the target. */
export const RENAME_NOREPLACE = 1 << 0;

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

const errnoNames: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR",
  21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP",
  95: "EOPNOTSUPP", 104: "ECONNRESET", 107: "ENOTCONN", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 122: "EDQUOT",
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

// ---------------------------------------------------------------------------------------------------------
// Working beneath a directory fd.

/** open(2) flags (the generic values, shared by x86_64 and aarch64). */
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** openat2(2) `resolve` flags. */
export const RESOLVE_NO_XDEV = 0x01;
/** Refuse /proc/<pid>/fd/*-style "magic links" anywhere in the path. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** Refuse every symlink anywhere in the path. */
export const RESOLVE_NO_SYMLINKS = 0x04;
/** Refuse any resolution that leaves `dirfd` (`..` above it, absolute paths, absolute or escaping symlinks): EXDEV. */
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

const SYS_openat2 = 437; // the same number on every architecture (it postdates the split tables)
/** openat2 under RESOLVE_BENEATH answers EAGAIN when a rename raced the lookup; retried this many times. */
const OPENAT2_RACE_RETRIES = 16;

/*
 *   struct open_how {      offset size
 *     __u64 flags;            0     8
 *     __u64 mode;             8     8
 *     __u64 resolve;         16     8
 *   };                             24   (the size is passed too: the kernel versions the struct by it)
 */
const OPEN_HOW_SIZE = 24;

export interface OpenHow {
  /** O_* flags; openat2 refuses unknown ones (EINVAL) instead of ignoring them. */
  flags: number;
  /** Creation mode; must be 0 unless `flags` has O_CREAT (openat2 refuses it otherwise). */
  mode?: number;
  /** RESOLVE_* flags. */
  resolve?: number;
}

/**
 * openat2(2): opens `path` relative to `dirfd` (an fd, or AT_FDCWD) and returns the new fd, which the caller
 * closes. `label` names the target in the error instead of `path` (e.g. the path as a client wrote it).
 */
export function openat2(dirfd: number, path: string, how: OpenHow, label: string = path): number {
  const structure = new BigUint64Array(3);
  structure[0] = BigInt(how.flags);
  structure[1] = BigInt(how.mode ?? 0);
  structure[2] = BigInt(how.resolve ?? 0);
  const name = cstr(path);
  for (let attempt = 0; ; attempt++) {
    const fd = Number(libc.symbols.syscall(SYS_openat2, dirfd, ptr(name), ptr(structure), OPEN_HOW_SIZE));
    if (fd >= 0) return fd;
    const code = errno();
    if (code === 4 || (code === 11 && attempt < OPENAT2_RACE_RETRIES)) continue; // EINTR; EAGAIN: a rename raced the lookup
    throw new SystemError("openat2", code, label);
  }
}

export type FileKind = "file" | "directory" | "symlink" | "other";

export interface FileStatus {
  kind: FileKind;
  /** st_mode & 0o7777. */
  permissions: number;
  size: bigint;
  /** Last modification, milliseconds since the Unix epoch. */
  modifiedMs: bigint;
}

/*
 *   struct statx (the fields read here; 256 bytes in all, the same on every architecture)
 *     u32 stx_mask          0        u16 stx_mode          28
 *     u64 stx_size         40        struct statx_timestamp stx_mtime  112  { i64 tv_sec; u32 tv_nsec; i32 pad }
 */
const STATX_SIZE = 256;
const STATX_TYPE = 0x1;
const STATX_MODE = 0x2;
const STATX_MTIME = 0x40;
const STATX_SIZE_MASK = 0x200;
const S_IFMT = 0o170000;

function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}

/**
 * statx(2) of `name` relative to `dirfd`; with `name` "" and AT_EMPTY_PATH in `flags`, of `dirfd` itself
 * (which may be an O_PATH fd). Pass AT_SYMLINK_NOFOLLOW to describe a symlink rather than its target.
 */
export function statx(dirfd: number, name: string, flags: number, label: string = name): FileStatus {
  const buffer = new Uint8Array(STATX_SIZE);
  const view = new DataView(buffer.buffer);
  if (libc.symbols.statx(dirfd, ptr(cstr(name)), flags, STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_SIZE_MASK, ptr(buffer)) !== 0) {
    fail("statx", label);
  }
  const mode = view.getUint16(28, true);
  const seconds = view.getBigInt64(112, true);
  const nanoseconds = view.getUint32(120, true);
  return {
    kind: kindOfMode(mode),
    permissions: mode & 0o7777,
    size: view.getBigUint64(40, true),
    modifiedMs: seconds * 1000n + BigInt(Math.floor(nanoseconds / 1_000_000)),
  };
}

export interface DirectoryEntry {
  /** The raw name bytes (not necessarily UTF-8); never "." or "..". */
  name: Buffer;
  /** From d_type; "other" also when the filesystem does not report a type (DT_UNKNOWN). */
  kind: FileKind;
}

/*
 *   struct linux_dirent64 {   offset
 *     u64  d_ino;                0
 *     i64  d_off;                8
 *     u16  d_reclen;            16   (size of this record, padded)
 *     u8   d_type;              18   DT_DIR 4, DT_REG 8, DT_LNK 10, DT_UNKNOWN 0
 *     char d_name[];            19   NUL-terminated
 *   };
 */
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;

/**
 * The entries of the directory open on `fd` (opened for reading with O_DIRECTORY, not O_PATH), read with
 * getdents64(2) from the fd's current offset, in the filesystem's order. Stops after `limit` entries, so a
 * caller that allows n asks for n + 1 to tell "exactly n" from "more".
 */
export function readDirectory(fd: number, limit: number = Number.MAX_SAFE_INTEGER, label?: string): DirectoryEntry[] {
  const buffer = Buffer.alloc(64 * 1024);
  const entries: DirectoryEntry[] = [];
  for (;;) {
    const count = Number(libc.symbols.getdents64(fd, ptr(buffer), buffer.length));
    if (count < 0) {
      const code = errno();
      if (code === 4) continue;
      throw new SystemError("getdents64", code, label);
    }
    if (count === 0) return entries;
    for (let offset = 0; offset < count && entries.length < limit; ) {
      const recordLength = buffer.readUInt16LE(offset + 16);
      const type = buffer.readUInt8(offset + 18);
      const nameEnd = buffer.indexOf(0, offset + 19);
      const name = Buffer.from(buffer.subarray(offset + 19, nameEnd));
      offset += recordLength;
      if ((name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) continue;
      entries.push({ name, kind: type === DT_REG ? "file" : type === DT_DIR ? "directory" : type === DT_LNK ? "symlink" : "other" });
    }
    if (entries.length >= limit) return entries;
  }
}

/** mkdirat(2): creates the directory `name` in `dirfd` (`mode` is masked by the umask). */
export function mkdirat(dirfd: number, name: string, mode: number, label: string = name): void {
  if (libc.symbols.mkdirat(dirfd, ptr(cstr(name)), mode) !== 0) fail("mkdirat", label);
}

/** unlinkat(2): removes `name` from `dirfd`; with AT_REMOVEDIR an empty directory. Never follows a symlink. */
export function unlinkat(dirfd: number, name: string, flags: number, label: string = name): void {
  if (libc.symbols.unlinkat(dirfd, ptr(cstr(name)), flags) !== 0) fail("unlinkat", label);
}

/** renameat2(2) between two directory fds (RENAME_NOREPLACE / RENAME_EXCHANGE in `flags`, or 0). */
export function renameatIn(fromDirfd: number, from: string, toDirfd: number, to: string, flags: number, label?: string): void {
  if (libc.symbols.renameat2(fromDirfd, ptr(cstr(from)), toDirfd, ptr(cstr(to)), flags) !== 0) {
    fail("renameat2", label ?? `${from} -> ${to}`);
  }
}

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;

/** memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING): an anonymous file in memory. */
export function memfdCreate(name: string): number {
  const fd = libc.symbols.memfd_create(cstr(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) fail("memfd_create", name);
  return fd;
}

/** Adds `seals` to a memfd (fcntl F_ADD_SEALS). */
export function addSeals(fd: number, seals: number): void {
  if (libc.symbols.fcntl(fd, F_ADD_SEALS, seals) < 0) fail("fcntl F_ADD_SEALS");
}

/** The seals of `fd`, or undefined when it is not a file that takes seals (not a memfd). */
export function getSeals(fd: number): number | undefined {
  const seals = libc.symbols.fcntl(fd, F_GET_SEALS, 0);
  return seals < 0 ? undefined : seals;
}
