/**
 * The Chrome DevTools Protocol over `--remote-debugging-pipe`: Chromium reads commands from its fd 3 and writes
 * replies and events to its fd 4, each message one JSON object followed by a NUL byte. No port is opened, so
 * nothing but the process that started Chromium can drive it.
 *
 * `send` returns the command's result or throws CdpError with Chromium's message; events go to the handlers
 * registered with `on`, with the session id of the target they came from (flattened sessions).
 */

import { writeSync } from "node:fs";
import { closeFd } from "../bus/index.ts";

export class CdpError extends Error {
  constructor(
    readonly method: string,
    message: string,
    readonly code?: number,
  ) {
    super(`${method}: ${message}`);
  }
}

type EventHandler = (params: Record<string, unknown>, sessionId: string | undefined) => void;

interface Pending {
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** A message bigger than this from Chromium is a protocol failure (screenshots of a 4K page are ~30 MB base64). */
const MAX_MESSAGE_BYTES = 256 << 20;

export class CdpConnection {
  readonly #writeFd: number;
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  #nextId = 1;
  #closed: Error | undefined;
  /** Resolves when Chromium closed its end (it exited or crashed). */
  readonly ended: Promise<void>;

  /** `writeFd`: our end of Chromium's fd 3; `readFd`: our end of its fd 4. Both are owned (closed) by this object. */
  constructor(writeFd: number, readFd: number) {
    this.#writeFd = writeFd;
    this.ended = this.#read(readFd);
  }

  async #read(readFd: number): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of Bun.file(readFd).stream()) {
        let data = Buffer.from(chunk);
        let nul: number;
        while ((nul = data.indexOf(0)) >= 0) {
          chunks.push(data.subarray(0, nul));
          this.#dispatch(Buffer.concat(chunks).toString("utf8"));
          chunks.length = 0;
          size = 0;
          data = data.subarray(nul + 1);
        }
        if (data.length > 0) {
          chunks.push(data);
          size += data.length;
          if (size > MAX_MESSAGE_BYTES) throw new Error(`a DevTools message exceeded ${MAX_MESSAGE_BYTES} bytes`);
        }
      }
      this.#fail(new Error("Chromium closed the DevTools pipe (it exited)"));
    } catch (error) {
      this.#fail(error as Error);
    } finally {
      closeFd(readFd);
    }
  }

  #dispatch(text: string): void {
    let message: { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string; code?: number }; sessionId?: string };
    try {
      message = JSON.parse(text);
    } catch {
      return; // not ours to interpret; Chromium only sends JSON
    }
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new CdpError(pending.method, message.error.message, message.error.code));
      else pending.resolve(message.result ?? {});
      return;
    }
    if (typeof message.method === "string") {
      for (const handler of this.#handlers.get(message.method) ?? []) handler(message.params ?? {}, message.sessionId);
    }
  }

  #fail(error: Error): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const pending of this.#pending.values()) pending.reject(new CdpError(pending.method, error.message));
    this.#pending.clear();
  }

  /** Sends `method` (to the target of `sessionId`, else the browser) and resolves with its result. */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(new CdpError(method, this.#closed.message));
    const id = this.#nextId++;
    const message = JSON.stringify(sessionId === undefined ? { id, method, params } : { id, method, params, sessionId });
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { method, resolve: resolve as (r: Record<string, unknown>) => void, reject });
      try {
        // Commands are small and Chromium reads them promptly; a blocking write of one message is fine.
        writeSync(this.#writeFd, Buffer.from(`${message}\0`, "utf8"));
      } catch (error) {
        this.#pending.delete(id);
        reject(new CdpError(method, `cannot write to Chromium: ${(error as Error).message}`));
      }
    });
  }

  /** Calls `handler` for every `method` event; returns a function that removes it. */
  on(method: string, handler: EventHandler): () => void {
    let set = this.#handlers.get(method);
    if (set === undefined) this.#handlers.set(method, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Resolves with the params of the next `method` event that satisfies `predicate`. */
  waitFor(method: string, predicate: (params: Record<string, unknown>, sessionId?: string) => boolean = () => true, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new CdpError(method, `no such event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(method, (params, sessionId) => {
        if (!predicate(params, sessionId)) return;
        clearTimeout(timer);
        off();
        resolve(params);
      });
    });
  }

  /** Closes our write end: Chromium treats that as the end of the session and exits. */
  close(): void {
    this.#fail(new Error("the DevTools connection was closed"));
    closeFd(this.#writeFd);
  }
}
