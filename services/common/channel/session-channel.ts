/**
 * The session channel: the page ↔ guest messages of one windowed app session, between its weft-app-shell and its
 * weft-runtime, on a socketpair appd makes at launch and hands to each at spawn. The messages never cross the
 * bus, so no other client of the bus (a monitor, an eavesdropper, another app) can see them, whatever the bus's
 * policy (protocol/session-channel.md; the headless UI end of tools and tests still uses Runtime1.Post/Message).
 *
 * A frame, in either direction:
 *
 *   ┌───────────────────────────┬──────┬──────────────────────────┐
 *   │ length: u32 little-endian │ kind │ payload: UTF-8           │   length = 1 + payload bytes
 *   └───────────────────────────┴──────┴──────────────────────────┘
 *
 *   app-shell → runtime   Hello    (empty)        appd bound the app-shell: the runtime delivers from now on
 *                         Post     a message      for the guest's ipc.recv()
 *   runtime → app-shell   Posted   "" | "Name: why"  the answer to each Post, in order (QueueFull, NotRunning…)
 *                         Message  a message      from the guest's ipc.send()
 *
 * Each side treats the other's frames as hostile: an unknown kind, a frame longer than MAX_FRAME_BYTES, a payload
 * that is not UTF-8 or longer than MAX_PAYLOAD_LENGTH closes the channel.
 */

import { fstatSync } from "node:fs";
import { MAX_PAYLOAD_LENGTH } from "../../../protocol/limits.ts";
import type { Logger } from "../daemon/log.ts";
import { UnixFdStream } from "../bus/transport.ts";


export { MAX_PAYLOAD_LENGTH };
/** A payload of MAX_PAYLOAD_LENGTH UTF-16 units is at most three times as many UTF-8 bytes. */
export const MAX_FRAME_BYTES = 1 + 3 * MAX_PAYLOAD_LENGTH;

export const FrameKind = { Hello: 1, Post: 2, Posted: 3, Message: 4 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];
const KINDS = new Set<number>(Object.values(FrameKind));

export interface Frame {
  kind: FrameKind;
  payload: string;
}


export class ChannelProtocolError extends Error {
  override name = "ChannelProtocolError";
}

export function encodeFrame(kind: FrameKind, payload = ""): Uint8Array {
  const body = Buffer.from(payload, "utf8");
  if (1 + body.length > MAX_FRAME_BYTES) throw new ChannelProtocolError(`a frame may carry at most ${MAX_FRAME_BYTES - 1} bytes`);
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame.writeUInt32LE(1 + body.length, 0);
  frame[4] = kind;
  frame.set(body, 5);
  return frame;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What one push() decoded: the whole frames, in order, and the first broken rule if the stream broke one. */
export interface Decoded {
  frames: Frame[];
  /** Set when the stream broke the protocol right after `frames`; nothing after it is decoded, ever. */
  error?: ChannelProtocolError;
}

/** Splits a byte stream into frames, stopping for good at the first frame that breaks the rules. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #broken: ChannelProtocolError | undefined;

  push(bytes: Uint8Array): Decoded {
    const frames: Frame[] = [];
    if (this.#broken !== undefined) return { frames, error: this.#broken };
    this.#chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#buffered += bytes.byteLength;
    try {
      for (let frame = this.#next(); frame !== undefined; frame = this.#next()) frames.push(frame);
    } catch (error) {
      if (!(error instanceof ChannelProtocolError)) throw error;
      this.#broken = error;
      this.#chunks = [];
      return { frames, error };
    }
    return { frames };
  }

  #next(): Frame | undefined {
    if (this.#buffered < 4) return undefined;
    const length = this.#peek(4).readUInt32LE(0);
    if (length < 1 || length > MAX_FRAME_BYTES) throw new ChannelProtocolError(`a frame of ${length} bytes (at most ${MAX_FRAME_BYTES})`);
    if (this.#buffered < 4 + length) return undefined;
    const frame = this.#take(4 + length);
    const kind = frame[4]!;
    if (!KINDS.has(kind)) throw new ChannelProtocolError(`unknown frame kind ${kind}`);
    let payload: string;
    try {
      payload = utf8.decode(frame.subarray(5));
    } catch {
      throw new ChannelProtocolError("a payload that is not UTF-8");
    }
    if (payload.length > MAX_PAYLOAD_LENGTH) throw new ChannelProtocolError(`a payload of ${payload.length} characters (at most ${MAX_PAYLOAD_LENGTH})`);
    return { kind: kind as FrameKind, payload };
  }

  #peek(size: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= size || this.#chunks.length === 1) return first;
    return Buffer.concat(this.#chunks).subarray(0, size);
  }

  #take(size: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const rest = all.subarray(size);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return all.subarray(0, size);
  }
}

/** One end of a session channel. */
export class SessionChannel {
  readonly #stream: UnixFdStream;
  readonly #decoder = new FrameDecoder();
  readonly #log: Logger;
  #onFrame: (frame: Frame) => void = () => {};
  /** Resolves once the channel is closed: by close(), by the other end, or after a protocol error. */
  readonly closed: Promise<void>;

  private constructor(fd: number, log: Logger) {
    this.#log = log;
    this.#stream = UnixFdStream.fromFd(fd, { negotiateUnixFd: false });
    this.closed = this.#stream.closed;
    this.#stream.on("readable", () => this.#read());
    this.#stream.on("error", (error: Error) => this.#log.warn("session channel failed", { error: error.message }));
  }

  /** Takes over `fd`, a connected stream socket (the end appd passed at spawn). */
  static fromFd(fd: number, log: Logger): SessionChannel {
    return new SessionChannel(fd, log);
  }

  /**
   * Takes over the channel a child of appd inherited as `--channel-fd fd`, after checking that it is an open
   * socket: an Error saying so otherwise (a child's start-up step).
   */
  static inherited(fd: number, log: Logger): SessionChannel {
    let isSocket = false;
    try {
      isSocket = fstatSync(fd).isSocket();
    } catch {
      // not open
    }
    if (!isSocket) throw new Error(`--channel-fd ${fd} is not an open socket: the session channel is the descriptor appd passes at spawn`);
    return new SessionChannel(fd, log);
  }

  /** Where frames go; set once, before the other end can have sent anything that matters. */
  onFrame(listener: (frame: Frame) => void): void {
    this.#onFrame = listener;
  }

  /** Sends a frame; false when the channel is closed (nothing is sent then). */
  send(kind: FrameKind, payload = ""): boolean {
    if (!this.#stream.writable) return false;
    try {
      this.#stream.write(encodeFrame(kind, payload));
      return true;
    } catch (error) {
      this.#log.warn("session channel write failed", { error: (error as Error).message });
      this.close();
      return false;
    }
  }

  close(): void {
    this.#stream.end();
  }

  #read(): void {
    const bytes = this.#stream.readAvailable();
    if (bytes === null) return;
    const { frames, error } = this.#decoder.push(bytes);
    for (const frame of frames) this.#onFrame(frame);
    if (error !== undefined) {
      this.#log.warn("the other end broke the session channel's protocol: closing it", { error: error.message });
      this.close();
    }
  }
}
