/**
 * Bytes that cross the bus in a sealed memfd instead of in a message: file contents between the runtime and the
 * file portal, clipboard text between the runtime and the compositor. A monitor of the bus (Debian's user bus
 * lets any client of the user become one) then sees an fd number, never the bytes.
 *
 * The sender writes the bytes into a memfd and seals it against writing, growing, shrinking and further
 * sealing; the receiver takes nothing else. Sealed, the content cannot change while it is read and its size is
 * what fstat says, and being a memfd, reading it never blocks (a pipe, a FIFO, a socket or a file on a slow
 * file system could hold the receiver forever).
 */

import { closeFd } from "../bus/libc.ts";
import { addSeals, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, getSeals, memfdCreate } from "./libc.ts";
import { fstatSync, readSync, writeSync } from "node:fs";

const REQUIRED_SEALS = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

/** Content that cannot be taken: `reason` says why, for the error the caller returns. */
export class SealedContentError extends Error {
  constructor(
    readonly reason: "not-sealed" | "too-large",
    message: string,
  ) {
    super(message);
    this.name = "SealedContentError";
  }
}

/** A sealed memfd holding `data`; the caller owns it (send it, then close it). `name` shows in /proc for debugging. */
export function sealedContent(name: string, data: Uint8Array): number {
  const fd = memfdCreate(name);
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, written);
    addSeals(fd, REQUIRED_SEALS);
    return fd;
  } catch (error) {
    closeFd(fd);
    throw error;
  }
}

/**
 * The bytes of a sealed memfd received from a peer, at most `maxBytes` of them. Does not close `fd`.
 * @throws SealedContentError for anything but a fully sealed memfd, or one above `maxBytes`
 */
export function readSealedContent(fd: number, maxBytes: number): Uint8Array {
  const seals = getSeals(fd);
  if (seals === undefined || (seals & REQUIRED_SEALS) !== REQUIRED_SEALS) {
    throw new SealedContentError("not-sealed", "the content must come as a memfd sealed against writing, growing, shrinking and sealing (services/common/os/sealed-content.ts)");
  }
  const size = fstatSync(fd).size;
  if (size > maxBytes) throw new SealedContentError("too-large", `the content is ${size} bytes; at most ${maxBytes} are taken`);
  const data = Buffer.alloc(size);
  let read = 0;
  while (read < size) {
    const n = readSync(fd, data, read, size - read, read);
    if (n === 0) break; // cannot happen on a sealed memfd; never loop forever
    read += n;
  }
  return data.subarray(0, read);
}

/** readSealedContent, then closes `fd` whatever happened: for an fd received in a reply, which is the caller's. */
export function takeSealedContent(fd: number, maxBytes: number): Uint8Array {
  try {
    return readSealedContent(fd, maxBytes);
  } finally {
    closeFd(fd);
  }
}

/** Calls `send` with a sealed memfd holding `data` and closes it once `send` is done (the bus sends a copy). */
export async function withSealedContent<T>(name: string, data: Uint8Array, send: (fd: number) => Promise<T>): Promise<T> {
  const fd = sealedContent(name, data);
  try {
    return await send(fd);
  } finally {
    closeFd(fd);
  }
}
