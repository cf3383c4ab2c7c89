import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { closeFd, isFdOpen, makePipe, makeSocketPair, readAllFd, writeAllFd } from "./libc.ts";
import { fdsPointingAt, openFdCount, settledWorkerThreadCount, workerThreadCount } from "../../../testing/bus.ts";
import { UnixFdStream } from "./transport.ts";
import { until } from "../../../testing/until.ts";


/** Collects everything a stream receives, with each fd batch at the offset `read(n, null)` handed it out. */
function collect(stream: UnixFdStream, chunkSize: number) {
  const received: { bytes: number[]; fds: { at: number; fd: number }[]; ended: boolean } = { bytes: [], fds: [], ended: false };
  stream.on("readable", () => {
    for (;;) {
      const chunk = stream.read(chunkSize, null);
      if (chunk === null) {
        const rest = stream.read(1, null);
        if (rest === null) return;
        for (const fd of rest.fds) received.fds.push({ at: received.bytes.length, fd });
        received.bytes.push(...rest.data);
        continue;
      }
      for (const fd of chunk.fds) received.fds.push({ at: received.bytes.length, fd });
      for (const byte of chunk.data) received.bytes.push(byte);
    }
  });
  stream.on("end", () => (received.ended = true));
  return received;
}


describe("UnixFdStream", () => {
  test("carries bytes both ways and passes a descriptor with the first byte of its write", async () => {
    const [left, right] = makeSocketPair();
    const a = UnixFdStream.fromFd(left);
    const b = UnixFdStream.fromFd(right);
    const atB = collect(b, 4);
    const atA = collect(a, 2);
    const [pipeRead, pipeWrite] = makePipe();
    writeAllFd(pipeWrite, new TextEncoder().encode("through the pipe"));
    closeFd(pipeWrite);

    a.write("abcd");
    a.write({ data: Buffer.from("efgh"), fds: [pipeRead] });
    closeFd(pipeRead); // the sender keeps ownership of what it sent
    b.write(Buffer.from("xy"));
    await until(() => atB.bytes.length === 8 && atA.bytes.length === 2, "both directions");

    expect(Buffer.from(atB.bytes).toString()).toBe("abcdefgh");
    expect(Buffer.from(atA.bytes).toString()).toBe("xy");
    expect(atB.fds.length).toBe(1);
    expect(atB.fds[0]!.at).toBe(4);
    const receivedFd = atB.fds[0]!.fd;
    expect(new TextDecoder().decode(readAllFd(receivedFd))).toBe("through the pipe");
    closeFd(receivedFd);

    a.end();
    b.end();
    await Promise.all([a.closed, b.closed]);
  });

  test("a write larger than the socket buffer is queued, sent in order, and its fd arrives once", async () => {
    const [left, right] = makeSocketPair();
    const a = UnixFdStream.fromFd(left);
    const b = UnixFdStream.fromFd(right);
    const atB = collect(b, 65536);
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const [pipeRead, pipeWrite] = makePipe();

    const completeNow = a.write({ data: big, fds: [pipeRead] });
    a.write("tail");
    closeFd(pipeRead);
    expect(completeNow).toBe(false); // 4 MiB cannot fit in a socket buffer: the queue path is exercised
    await until(() => atB.bytes.length === big.length + 4, "4 MiB + tail", 20000);

    expect(Buffer.from(atB.bytes.slice(0, big.length)).equals(big)).toBe(true);
    expect(Buffer.from(atB.bytes.slice(big.length)).toString()).toBe("tail");
    // Handed out once, with a read ending inside the first segment the kernel delivered (≤ one 64 KiB read).
    expect(atB.fds.length).toBe(1);
    expect(atB.fds[0]!.at).toBeLessThan(65536);
    writeAllFd(pipeWrite, Buffer.from("ok"));
    closeFd(pipeWrite);
    expect(Buffer.from(readAllFd(atB.fds[0]!.fd)).toString()).toBe("ok");
    closeFd(atB.fds[0]!.fd);
    a.end();
    b.end();
    await Promise.all([a.closed, b.closed]);
  });

  test("refuses to write descriptors when fd passing is off, instead of sending a message without them", async () => {
    const [left, right] = makeSocketPair();
    const a = UnixFdStream.fromFd(left, { negotiateUnixFd: false });
    const b = UnixFdStream.fromFd(right);
    expect(() => a.write({ data: Buffer.from("x"), fds: [0] })).toThrow(/fd passing was not negotiated/);
    a.end();
    b.end();
    await Promise.all([a.closed, b.closed]);
  });

  test("the peer closing ends the stream; end() stops the reader thread and closes the socket", async () => {
    // One warm-up stream: the first Worker of a process starts runtime threads that stay for its lifetime.
    const [w1, w2] = makeSocketPair();
    const warm = UnixFdStream.fromFd(w1);
    closeFd(w2);
    await warm.closed;

    const threadsBefore = await settledWorkerThreadCount();
    const fdsBefore = openFdCount();
    const [left, right] = makeSocketPair();
    const a = UnixFdStream.fromFd(left);
    const b = UnixFdStream.fromFd(right);
    const atA = collect(a, 1);
    await until(() => workerThreadCount() >= threadsBefore + 2, "two reader threads");
    b.end();
    await b.closed;
    await until(() => atA.ended, "end seen by the peer");
    await a.closed;
    expect(isFdOpen(left)).toBe(false);
    expect(isFdOpen(right)).toBe(false);
    expect(() => a.write("late")).toThrow(/closed/);
    await until(() => workerThreadCount() <= threadsBefore, "reader threads to exit");
    expect(openFdCount()).toBe(fdsBefore);
  });

  test("descriptors received but never handed out are closed with the stream", async () => {
    const [left, right] = makeSocketPair();
    const a = UnixFdStream.fromFd(left);
    const b = UnixFdStream.fromFd(right);
    const [pipeRead, pipeWrite] = makePipe();
    closeFd(pipeWrite);
    const pipeIdentity = readlinkSync(`/proc/self/fd/${pipeRead}`);
    let readable = false;
    b.on("readable", () => (readable = true)); // listens but never reads
    a.write({ data: Buffer.from("x"), fds: [pipeRead] });
    closeFd(pipeRead);
    await until(() => readable, "data at b");
    expect(fdsPointingAt(pipeIdentity)).toBe(1); // the received copy, held by b
    b.end();
    a.end();
    await Promise.all([a.closed, b.closed]);
    expect(fdsPointingAt(pipeIdentity)).toBe(0);
  });
});
