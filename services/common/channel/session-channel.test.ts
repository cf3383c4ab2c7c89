import { describe, expect, test } from "bun:test";
import { closeFd, makeSocketPair, writeAllFd } from "../bus/libc.ts";
import { createLogger } from "../daemon/log.ts";
import {
  ChannelProtocolError,
  encodeFrame,
  FrameDecoder,
  FrameKind,
  MAX_FRAME_BYTES,
  MAX_PAYLOAD_LENGTH,
  SessionChannel,
  type Frame,
} from "./session-channel.ts";

const quiet = createLogger("test", { sink: () => {} });

function header(length: number, kind: number): Uint8Array {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt32LE(length, 0);
  bytes[4] = kind;
  return bytes;
}

describe("frames", () => {
  test("encode and decode agree, whatever the chunking: whole, several at once, byte by byte", () => {
    const sent: Frame[] = [
      { kind: FrameKind.Hello, payload: "" },
      { kind: FrameKind.Post, payload: "héllo ✓ 😀" },
      { kind: FrameKind.Posted, payload: "QueueFull: the app has 64 unread messages" },
      { kind: FrameKind.Message, payload: "\u0000nul and\nnewline" },
    ];
    const stream = Buffer.concat(sent.map((f) => encodeFrame(f.kind, f.payload)));
    expect(new FrameDecoder().push(stream)).toEqual({ frames: sent });
    const decoder = new FrameDecoder();
    const received: Frame[] = [];
    for (const byte of stream) received.push(...decoder.push(Uint8Array.of(byte)).frames);
    expect(received).toEqual(sent);
  });

  test("the largest payload passes, in characters that take three bytes each", () => {
    const payload = "€".repeat(MAX_PAYLOAD_LENGTH);
    const frame = encodeFrame(FrameKind.Message, payload);
    expect(frame.length).toBe(4 + MAX_FRAME_BYTES);
    expect(new FrameDecoder().push(frame)).toEqual({ frames: [{ kind: FrameKind.Message, payload }] });
  });

  test("hostile frames are refused with what is wrong with them", () => {
    const cases: [Uint8Array, RegExp][] = [
      [header(0, FrameKind.Post), /a frame of 0 bytes/],
      [header(MAX_FRAME_BYTES + 1, FrameKind.Post), /a frame of \d+ bytes \(at most/],
      [header(0xffffffff, FrameKind.Post), /a frame of 4294967295 bytes/],
      [Buffer.concat([header(1, 0)]), /unknown frame kind 0/],
      [Buffer.concat([header(1, 99)]), /unknown frame kind 99/],
      [Buffer.concat([header(3, FrameKind.Post), Uint8Array.of(0xc3, 0x28)]), /not UTF-8/],
      [Buffer.concat([header(4, FrameKind.Post), Uint8Array.of(0xed, 0xa0, 0x80)]), /not UTF-8/], // a lone surrogate
      // More characters than a payload may have, though within the byte limit (ASCII: one byte each).
      [encodeFrameUnchecked(FrameKind.Post, "a".repeat(MAX_PAYLOAD_LENGTH + 1)), /a payload of 1048577 characters/],
    ];
    for (const [bytes, message] of cases) {
      const decoder = new FrameDecoder();
      // A good frame first: it is delivered, the bad one after it is not, and nothing later either.
      const { frames, error } = decoder.push(Buffer.concat([encodeFrame(FrameKind.Post, "before"), bytes]));
      expect(frames).toEqual([{ kind: FrameKind.Post, payload: "before" }]);
      expect(error).toBeInstanceOf(ChannelProtocolError);
      expect(error!.message).toMatch(message);
      expect(decoder.push(encodeFrame(FrameKind.Post, "after"))).toEqual({ frames: [], error });
    }
    expect(() => encodeFrame(FrameKind.Post, "€".repeat(MAX_PAYLOAD_LENGTH + 1))).toThrow(ChannelProtocolError);
  });
});

function encodeFrameUnchecked(kind: number, payload: string): Uint8Array {
  const body = Buffer.from(payload, "utf8");
  return Buffer.concat([header(1 + body.length, kind), body]);
}

/** Collects the frames one end receives; `next()` waits for the next one. */
function receiver(channel: SessionChannel) {
  const frames: Frame[] = [];
  const waiting: ((frame: Frame) => void)[] = [];
  channel.onFrame((frame) => {
    const resolve = waiting.shift();
    if (resolve !== undefined) resolve(frame);
    else frames.push(frame);
  });
  return {
    next: () => {
      const frame = frames.shift();
      return frame !== undefined ? Promise.resolve(frame) : new Promise<Frame>((resolve) => waiting.push(resolve));
    },
  };
}

describe("a channel over a real socketpair", () => {
  test("frames cross both ways in order, large ones too, and closing one end closes the other", async () => {
    const [a, b] = makeSocketPair();
    const left = SessionChannel.fromFd(a, quiet);
    const right = SessionChannel.fromFd(b, quiet);
    const atRight = receiver(right);
    const atLeft = receiver(left);
    left.send(FrameKind.Hello);
    for (let i = 0; i < 100; i++) left.send(FrameKind.Post, `m${i}`);
    const big = "ü".repeat(MAX_PAYLOAD_LENGTH);
    right.send(FrameKind.Message, big);
    expect(await atRight.next()).toEqual({ kind: FrameKind.Hello, payload: "" });
    for (let i = 0; i < 100; i++) expect(await atRight.next()).toEqual({ kind: FrameKind.Post, payload: `m${i}` });
    expect((await atLeft.next()).payload).toBe(big);
    left.close();
    await Promise.all([left.closed, right.closed]);
    expect(right.send(FrameKind.Message, "after the end")).toBe(false);
  });

  test("a peer that breaks the protocol gets the channel closed, and nothing it sent after is read", async () => {
    const [a, b] = makeSocketPair();
    const channel = SessionChannel.fromFd(a, quiet);
    const seen: Frame[] = [];
    channel.onFrame((frame) => seen.push(frame));
    writeAllFd(b, Buffer.concat([encodeFrame(FrameKind.Post, "fine"), header(1, 42), encodeFrame(FrameKind.Post, "never read")]));
    await channel.closed;
    expect(seen).toEqual([{ kind: FrameKind.Post, payload: "fine" }]);
    closeFd(b);
  });
});
