/**
 * The few libc calls the bus transport needs, through `bun:ffi`, plus the constants and struct layouts that go
 * with them. Shared by the main thread (connect, sendmsg, shutdown, close) and the reader worker (recvmsg).
 *
 * Linux only, LP64 only (x86_64 and aarch64 share every constant and layout used here).
 */
import { ptr } from "bun:ffi";
import { errno, libcCalls, SystemError } from "../os/libc.ts";

export { errno, SystemError };

if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
  throw new Error(`the D-Bus fd transport supports Linux on x64/arm64 only (got ${process.platform}/${process.arch})`);
}

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const SHUT_RDWR = 2;
export const MSG_CTRUNC = 0x8;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const F_DUPFD_CLOEXEC = 1030;
export const F_GETFD = 1;
export const POLLIN = 0x1;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EPIPE = 32;
export const ECONNRESET = 104;

/*
 * Layouts used (LP64 Linux, glibc and the kernel agree):
 *
 *   struct msghdr {                 offset size
 *     void         *msg_name;          0     8
 *     socklen_t     msg_namelen;       8     4   (+4 padding)
 *     struct iovec *msg_iov;          16     8
 *     size_t        msg_iovlen;       24     8
 *     void         *msg_control;      32     8
 *     size_t        msg_controllen;   40     8
 *     int           msg_flags;        48     4   (+4 padding)
 *   };                                       56
 *
 *   struct iovec { void *iov_base; /0 size_t iov_len; /8 };   16
 *
 *   struct cmsghdr {
 *     size_t cmsg_len;    0  8   = CMSG_LEN(payload) = 16 + payload (not padded)
 *     int    cmsg_level;  8  4   SOL_SOCKET
 *     int    cmsg_type;  12  4   SCM_RIGHTS
 *     int    fds[];      16      payload: n * 4 bytes
 *   };  each cmsg occupies CMSG_SPACE(payload) = 16 + align8(payload) bytes in msg_control
 *
 *   struct sockaddr_un { sa_family_t sun_family; /0 u16  char sun_path[108]; /2 };   110
 */
export const MSGHDR_SIZE = 56;
export const IOVEC_SIZE = 16;
export const CMSGHDR_SIZE = 16;
export const SOCKADDR_UN_SIZE = 110;
export const SUN_PATH_MAX = 108;

export function cmsgSpace(payloadBytes: number): number {
  return CMSGHDR_SIZE + ((payloadBytes + 7) & ~7);
}

/** The kernel's per-message limit on SCM_RIGHTS descriptors (SCM_MAX_FD). */
export const SCM_MAX_FD = 253;

/** libc's functions (bound once, in ../libc.ts); every one returns -1 and sets errno on failure: read it with `errno()` right after. */
export const libc = libcCalls;

/** Writes a pointer-sized field: struct fields that hold addresses. */
export function setPointer(view: DataView, offset: number, target: Uint8Array | null): void {
  view.setBigUint64(offset, target === null ? 0n : BigInt(ptr(target)), true);
}

/** Closes an fd, ignoring EINTR (Linux always releases the descriptor, so retrying would close another fd). */
export function closeFd(fd: number): void {
  libc.close(fd);
}

/** Duplicates `fd` with FD_CLOEXEC set; throws on failure. */
export function dupFd(fd: number): number {
  const copy = libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw new SystemError(`fcntl(${fd}, F_DUPFD_CLOEXEC)`, errno());
  return copy;
}

/** True when `fd` is an open descriptor of this process. */
export function isFdOpen(fd: number): boolean {
  return libc.fcntl(fd, F_GETFD, 0) >= 0;
}

/** A close-on-exec pipe: `[readEnd, writeEnd]`. Handy for passing data through an fd. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, SOCK_CLOEXEC) < 0) throw new SystemError("pipe2", errno());
  return [fds[0]!, fds[1]!];
}

/** A connected close-on-exec AF_UNIX stream socket pair. */
export function makeSocketPair(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw new SystemError("socketpair", errno());
  return [fds[0]!, fds[1]!];
}

/** Writes all of `data` to a blocking fd (pipes and files in tests and helpers). */
export function writeAllFd(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) {
    const rest = data.subarray(offset);
    const n = libc.write(fd, rest, rest.length);
    if (n < 0) {
      const code = errno();
      if (code === EINTR) continue;
      throw new SystemError(`write(${fd})`, code);
    }
    offset += Number(n);
  }
}

/** Reads a blocking fd to end of file. */
export function readAllFd(fd: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = libc.read(fd, buffer, buffer.length);
    if (n < 0) {
      const code = errno();
      if (code === EINTR) continue;
      throw new SystemError(`read(${fd})`, code);
    }
    if (n === 0) break;
    chunks.push(buffer.slice(0, Number(n)));
  }
  return Buffer.concat(chunks);
}
