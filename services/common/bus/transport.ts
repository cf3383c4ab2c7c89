/**
 * An AF_UNIX stream socket that can carry file descriptors, built on `bun:ffi`, presenting the stream API
 * that dbus-next's handshake and message parser expect from its native `usocket` addon (which cannot load
 * in Bun; without it dbus-next falls back to a plain socket and a call carrying an `h` argument hangs).
 *
 * The API dbus-next uses, and what this class does for each:
 *   write(string | Buffer | { data, fds })   synchronous sendmsg() on the caller's thread, fds as SCM_RIGHTS
 *   read(n)                                    exactly n buffered bytes, or null (then wait for 'readable')
 *   read(n, null)                              { data, fds }: n bytes plus the fds that arrived with them
 *   'readable' / 'end' / 'error' events, `writable`, `supportsUnixFd` (the handshake clears it on refusal)
 *
 * Reading happens on a worker thread (reader-worker.ts) blocked in recvmsg(). Which message do received
 * descriptors belong to? The kernel may glue earlier fd-less bytes in front of the segment carrying fds,
 * but always stops a read right after (or inside) that segment; and dbus-daemon sends each message in its
 * own sendmsg() with its fds on the first one. So the fds of one recvmsg() belong to the message that
 * contains the last byte of that read: `read(n, null)` hands out every fd batch whose read ended at or
 * before the end of the bytes it returns (the body read of a message covers the message's end).
 * Descriptors returned by `read(n, null)` belong to the caller; those never handed out are closed here.
 *
 * Descriptors written are not consumed: the caller still owns and may close them once write() returns
 * (when the socket is full, write() queues a duplicate, sends it later and closes it).
 */
import { EventEmitter } from "node:events";
import { ptr } from "bun:ffi";
import {
  AF_UNIX,
  CMSGHDR_SIZE,
  EAGAIN,
  EINTR,
  IOVEC_SIZE,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSGHDR_SIZE,
  SCM_MAX_FD,
  SCM_RIGHTS,
  SHUT_RDWR,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOCKADDR_UN_SIZE,
  SOL_SOCKET,
  SUN_PATH_MAX,
  SystemError,
  closeFd,
  cmsgSpace,
  dupFd,
  errno,
  libc,
  setPointer,
} from "./libc.ts";
import type { ReaderEvent } from "./reader-worker.ts";

/** Where a unix socket lives: a filesystem path, or a name in the abstract namespace (Linux). */
export type UnixSocketAddress = { kind: "path"; path: string } | { kind: "abstract"; name: string };

/** What one `read(n, null)` returns, as usocket does. */
export interface ChunkWithFds {
  data: Buffer;
  fds: number[];
}

interface PendingWrite {
  data: Uint8Array;
  /** Duplicates owned by the queue: closed once sent or dropped. */
  fds: number[];
}

interface ReceivedFds {
  /** Stream offset just past the last byte of the recvmsg() these descriptors arrived with. */
  end: number;
  fds: number[];
}

const MAX_FLUSH_DELAY_MS = 16;

export class UnixFdStream extends EventEmitter {
  /** True while fd passing may be used; dbus-next's handshake sets it to false when the server refuses. */
  supportsUnixFd: boolean;
  /** False once end() was called or the socket failed; dbus-next checks it before writing. */
  writable = true;
  /** Resolves once the reader thread has exited and the socket is closed. */
  readonly closed: Promise<void>;

  readonly #fd: number;
  readonly #reader: Worker;
  #readerExited = false;
  #ended = false;
  #endEmitted = false;
  #released = false;
  #resolveClosed!: () => void;

  readonly #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  /** Stream offset of the first byte in `#chunks`. */
  #consumedBytes = 0;
  readonly #receivedFds: ReceivedFds[] = [];

  readonly #writeQueue: PendingWrite[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushDelayMs = 1;

  // Reused for every sendmsg(): the main thread is the only writer.
  readonly #msghdr = new Uint8Array(MSGHDR_SIZE);
  readonly #msghdrView = new DataView(this.#msghdr.buffer);
  readonly #iovec = new Uint8Array(IOVEC_SIZE);
  readonly #iovecView = new DataView(this.#iovec.buffer);

  /** Connects to a unix socket; throws SystemError if nothing listens there. */
  static connect(address: UnixSocketAddress, options: { negotiateUnixFd?: boolean } = {}): UnixFdStream {
    const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SystemError("socket(AF_UNIX)", errno());
    const sockaddr = encodeSockaddrUn(address);
    for (;;) {
      if (libc.connect(fd, sockaddr, sockaddr.length) === 0) break;
      const code = errno();
      if (code === EINTR) continue;
      closeFd(fd);
      throw new SystemError(`connect(${describeAddress(address)})`, code);
    }
    return new UnixFdStream(fd, options);
  }

  /** Wraps an already connected stream socket; the stream owns `fd` from now on. */
  static fromFd(fd: number, options: { negotiateUnixFd?: boolean } = {}): UnixFdStream {
    return new UnixFdStream(fd, options);
  }

  private constructor(fd: number, options: { negotiateUnixFd?: boolean }) {
    super();
    this.#fd = fd;
    this.supportsUnixFd = options.negotiateUnixFd ?? true;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));

    // A 'readable' listener added while bytes are already buffered must still hear about them, as with
    // Node streams: dbus-next adds its message parser right after the handshake's last line was read.
    this.on("newListener", (event: string) => {
      if (event === "readable" && this.#bufferedBytes > 0) queueMicrotask(() => this.#emitReadable());
    });

    this.#reader = new Worker(new URL("./reader-worker.ts", import.meta.url).href);
    this.#reader.onmessage = (event: MessageEvent<ReaderEvent>) => this.#onReaderEvent(event.data);
    this.#reader.addEventListener("error", (event) => {
      this.#fail(new Error(`bus reader thread failed: ${(event as ErrorEvent).message}`));
    });
    this.#reader.addEventListener("close", () => {
      this.#readerExited = true;
      this.#finish();
    });
    this.#reader.postMessage({ fd });
  }

  /** Nagle does not apply to unix sockets; present because dbus-next calls it when it exists. */
  setNoDelay(): void {}

  /**
   * Sends `chunk` now, or queues the rest when the socket is full. Descriptors go with the first byte.
   * Throws when the stream is closed, when fds are given but fd passing is off, or on a socket error.
   */
  write(chunk: string | Uint8Array | { data: Uint8Array; fds?: number[] }): boolean {
    if (!this.writable) throw new Error("cannot write to the bus socket: it is closed");
    const { data, fds } =
      typeof chunk === "string"
        ? { data: Buffer.from(chunk, "utf8"), fds: [] as number[] }
        : chunk instanceof Uint8Array
          ? { data: chunk, fds: [] as number[] }
          : { data: chunk.data, fds: chunk.fds ?? [] };
    if (fds.length > 0 && !this.supportsUnixFd) {
      throw new Error("cannot send file descriptors: fd passing was not negotiated on this bus connection");
    }
    if (fds.length > SCM_MAX_FD) throw new Error(`cannot send ${fds.length} file descriptors in one message (max ${SCM_MAX_FD})`);
    if (this.#writeQueue.length > 0) {
      this.#writeQueue.push({ data, fds: fds.map(dupFd) });
      return false;
    }
    const sent = this.#send(data, fds);
    if (sent === data.length) return true;
    // Nothing sent means the fds were not sent either: keep our own duplicates so the caller may close theirs.
    this.#writeQueue.push({ data: data.subarray(sent), fds: sent === 0 ? fds.map(dupFd) : [] });
    this.#scheduleFlush();
    return false;
  }

  /** `read(n)`: exactly n bytes or null. `read(n, null)`: `{ data, fds }` or null (the usocket form). */
  read(size: number): Buffer | null;
  read(size: number, withFds: null): ChunkWithFds | null;
  read(size: number, withFds?: null): Buffer | ChunkWithFds | null {
    if (size > this.#bufferedBytes) return null;
    const data = this.#take(size);
    if (withFds === undefined) return data;
    const end = this.#consumedBytes;
    const fds: number[] = [];
    while (this.#receivedFds.length > 0 && this.#receivedFds[0]!.end <= end) fds.push(...this.#receivedFds.shift()!.fds);
    return { data, fds };
  }

  /** Every byte buffered now, or null when there is none (for framings other than D-Bus's, which read exact sizes). */
  readAvailable(): Buffer | null {
    return this.#bufferedBytes === 0 ? null : this.#take(this.#bufferedBytes);
  }

  /** Stops reading and writing; the socket is closed once the reader thread has exited (see `closed`). */
  end(): void {
    if (this.#ended) return;
    this.writable = false;
    this.#ended = true;
    this.#dropWriteQueue();
    // Wakes the reader's blocked recvmsg() with end of file; close() must wait until the thread is gone.
    libc.shutdown(this.#fd, SHUT_RDWR);
  }

  #onReaderEvent(event: ReaderEvent): void {
    switch (event.kind) {
      case "data": {
        const bytes = new Uint8Array(event.bytes);
        this.#chunks.push(bytes);
        this.#bufferedBytes += bytes.length;
        if (event.fds.length > 0) this.#receivedFds.push({ end: this.#consumedBytes + this.#bufferedBytes, fds: event.fds });
        this.#emitReadable();
        return;
      }
      case "end":
        this.#finish();
        return;
      case "error":
        this.#fail(new Error(event.message));
        return;
    }
  }

  #emitReadable(): void {
    if (this.#bufferedBytes === 0) return;
    try {
      this.emit("readable");
    } catch (error) {
      // A consumer threw while parsing: report it rather than let it escape into the worker callback.
      this.#emitError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** 'error' without a listener would throw from inside the reader callback: only emit to listeners. */
  #emitError(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  #take(size: number): Buffer {
    this.#bufferedBytes -= size;
    this.#consumedBytes += size;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= size) {
      const part = Buffer.from(first.buffer, first.byteOffset, size);
      if (first.length === size) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(size);
      return part;
    }
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.#chunks[0]!;
      const count = Math.min(chunk.length, size - filled);
      out.set(chunk.subarray(0, count), filled);
      filled += count;
      if (count === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(count);
    }
    return out;
  }

  /**
   * One sendmsg(): returns the bytes sent (0 when the socket is full). msghdr/iovec/cmsghdr layouts are
   * drawn in libc.ts.
   */
  #send(data: Uint8Array, fds: number[]): number {
    if (data.length === 0) return 0;
    setPointer(this.#iovecView, 0, data);
    this.#iovecView.setBigUint64(8, BigInt(data.length), true);
    const header = this.#msghdrView;
    setPointer(header, 0, null);
    header.setUint32(8, 0, true);
    setPointer(header, 16, this.#iovec);
    header.setBigUint64(24, 1n, true);
    let control: Uint8Array | null = null;
    if (fds.length > 0) {
      control = new Uint8Array(cmsgSpace(fds.length * 4));
      const view = new DataView(control.buffer);
      view.setBigUint64(0, BigInt(CMSGHDR_SIZE + fds.length * 4), true);
      view.setInt32(8, SOL_SOCKET, true);
      view.setInt32(12, SCM_RIGHTS, true);
      fds.forEach((fd, i) => view.setInt32(CMSGHDR_SIZE + 4 * i, fd, true));
    }
    setPointer(header, 32, control);
    header.setBigUint64(40, BigInt(control?.length ?? 0), true);
    header.setInt32(48, 0, true);
    for (;;) {
      const n = libc.sendmsg(this.#fd, ptr(this.#msghdr), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return Number(n);
      const code = errno();
      if (code === EINTR) continue;
      if (code === EAGAIN) return 0;
      this.writable = false;
      throw new SystemError("sendmsg on the bus socket", code);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, this.#flushDelayMs);
  }

  #flush(): void {
    while (this.#writeQueue.length > 0 && this.writable) {
      const pending = this.#writeQueue[0]!;
      let sent: number;
      try {
        sent = this.#send(pending.data, pending.fds);
      } catch (error) {
        this.#fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (sent > 0) {
        for (const fd of pending.fds) closeFd(fd);
        pending.fds = [];
        this.#flushDelayMs = 1;
      }
      if (sent === pending.data.length) {
        this.#writeQueue.shift();
        continue;
      }
      pending.data = pending.data.subarray(sent);
      if (sent === 0) this.#flushDelayMs = Math.min(this.#flushDelayMs * 2, MAX_FLUSH_DELAY_MS);
      this.#scheduleFlush();
      return;
    }
  }

  #dropWriteQueue(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    for (const pending of this.#writeQueue.splice(0)) for (const fd of pending.fds) closeFd(fd);
  }

  #fail(error: Error): void {
    if (!this.#ended) this.#emitError(error);
    this.#finish();
  }

  /** The peer closed, the reader failed, or end() was called: stop, tell listeners once, release when the reader is gone. */
  #finish(): void {
    this.end();
    if (!this.#endEmitted) {
      this.#endEmitted = true;
      this.emit("end");
    }
    this.#release();
  }

  #release(): void {
    if (this.#released || !this.#readerExited) return;
    this.#released = true;
    closeFd(this.#fd);
    for (const received of this.#receivedFds.splice(0)) for (const fd of received.fds) closeFd(fd);
    this.#chunks.length = 0;
    this.#bufferedBytes = 0;
    this.emit("close");
    this.#resolveClosed();
  }
}

function encodeSockaddrUn(address: UnixSocketAddress): Uint8Array {
  const name = Buffer.from(address.kind === "path" ? address.path : address.name, "utf8");
  // Paths need room for their NUL terminator; abstract names need room for their leading NUL.
  const length = name.length + 1;
  if (length > SUN_PATH_MAX) throw new Error(`unix socket ${describeAddress(address)} is longer than ${SUN_PATH_MAX - 1} bytes`);
  if (address.kind === "path" && name.includes(0)) throw new Error("unix socket path contains a NUL byte");
  const sockaddr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true);
  sockaddr.set(name, address.kind === "path" ? 2 : 3);
  // For abstract sockets the address length must cover exactly the name: trailing NULs would be part of it.
  return address.kind === "path" ? sockaddr : sockaddr.subarray(0, 2 + 1 + name.length);
}

function describeAddress(address: UnixSocketAddress): string {
  return address.kind === "path" ? `unix:path=${address.path}` : `unix:abstract=${address.name}`;
}
