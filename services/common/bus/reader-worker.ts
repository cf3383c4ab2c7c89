/**
 * Reader thread of one bus socket. It blocks in recvmsg() so the main thread's event loop never does, and
 * posts every chunk of bytes, with the descriptors that arrived alongside them, to the main thread.
 *
 * Protocol: the main thread posts `{ fd }` once; this thread answers with `ReaderEvent`s until the socket
 * reaches end of file or fails, then exits. The main thread stops it with shutdown(fd, SHUT_RDWR), which
 * makes a blocked recvmsg() return 0; it closes the fd only after this thread has exited, so the number can
 * never be reused under a running recvmsg().
 */
import { ptr } from "bun:ffi";
import {
  CMSGHDR_SIZE,
  EINTR,
  IOVEC_SIZE,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSGHDR_SIZE,
  SCM_MAX_FD,
  SCM_RIGHTS,
  SOL_SOCKET,
  closeFd,
  cmsgSpace,
  errno,
  libc,
  setPointer,
} from "./libc.ts";

/** What the reader posts to the main thread. `bytes` is transferred, not copied. */
export type ReaderEvent =
  | { kind: "data"; bytes: ArrayBuffer; fds: number[] }
  | { kind: "end" }
  | { kind: "error"; message: string };

declare const self: Worker;

const READ_BUFFER_BYTES = 64 * 1024;

function readLoop(fd: number): void {
  const data = new Uint8Array(READ_BUFFER_BYTES);
  const control = new Uint8Array(cmsgSpace(SCM_MAX_FD * 4));
  const controlView = new DataView(control.buffer);
  const iovec = new Uint8Array(IOVEC_SIZE);
  const iovecView = new DataView(iovec.buffer);
  setPointer(iovecView, 0, data);
  iovecView.setBigUint64(8, BigInt(data.length), true);
  const msghdr = new Uint8Array(MSGHDR_SIZE);
  const msghdrView = new DataView(msghdr.buffer);
  setPointer(msghdrView, 0, null);
  msghdrView.setUint32(8, 0, true);
  setPointer(msghdrView, 16, iovec);
  msghdrView.setBigUint64(24, 1n, true);
  setPointer(msghdrView, 32, control);

  for (;;) {
    // recvmsg() rewrites msg_controllen and msg_flags: reset both before every call.
    msghdrView.setBigUint64(40, BigInt(control.length), true);
    msghdrView.setInt32(48, 0, true);
    const n = libc.recvmsg(fd, ptr(msghdr), MSG_CMSG_CLOEXEC);
    if (n < 0) {
      const code = errno();
      if (code === EINTR) continue;
      post({ kind: "error", message: `recvmsg on the bus socket failed: errno ${code}` });
      return;
    }
    const fds = receivedFds(controlView, Number(msghdrView.getBigUint64(40, true)));
    if ((msghdrView.getInt32(48, true) & MSG_CTRUNC) !== 0) {
      // Some descriptors were dropped by the kernel: the message they belonged to cannot be trusted.
      for (const received of fds) closeFd(received);
      post({ kind: "error", message: "the bus sent more file descriptors than fit in one read (MSG_CTRUNC)" });
      return;
    }
    if (n === 0) {
      for (const received of fds) closeFd(received);
      post({ kind: "end" });
      return;
    }
    const bytes = data.slice(0, Number(n)).buffer;
    self.postMessage({ kind: "data", bytes, fds } satisfies ReaderEvent, [bytes]);
  }
}

function receivedFds(controlView: DataView, controlLength: number): number[] {
  const fds: number[] = [];
  let offset = 0;
  while (offset + CMSGHDR_SIZE <= controlLength) {
    const length = Number(controlView.getBigUint64(offset, true));
    if (length < CMSGHDR_SIZE) break;
    const level = controlView.getInt32(offset + 8, true);
    const type = controlView.getInt32(offset + 12, true);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      const count = (length - CMSGHDR_SIZE) / 4;
      for (let i = 0; i < count; i++) fds.push(controlView.getInt32(offset + CMSGHDR_SIZE + 4 * i, true));
    }
    offset += (length + 7) & ~7;
  }
  return fds;
}

function post(event: ReaderEvent): void {
  self.postMessage(event);
}

self.onmessage = (event: MessageEvent<{ fd: number }>) => {
  self.onmessage = null;
  readLoop(event.data.fd);
  process.exit(0);
};
