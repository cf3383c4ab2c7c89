/**
 * How a guest's call to a host function crosses threads. The guest runs synchronously on its worker; host
 * functions run on the main thread, asynchronously. The worker posts the call and blocks on the shared
 * buffer; the main thread runs the function, writes the response (wire.ts) into the buffer and wakes it.
 *
 *   guest worker (blocked in Wasmtime)                  main thread (event loop)
 *   ----------------------------------                  ------------------------
 *   CAS state IDLE → WAITING
 *   postMessage {call, fn, args}  ───────────────────▶  onmessage: await hostFunction(args)
 *   Atomics.wait(state, WAITING)                         encode response (wire.ts)
 *                                                        write chunk 1, CAS WAITING → CHUNK|DONE, notify
 *          ◀─────────────────────────────────────────── 
 *   copy chunk                                           (more chunks only when the response is larger
 *   CHUNK: CAS CHUNK → WAITING, notify  ─────────────▶   than the buffer: Atomics.waitAsync(state, CHUNK)
 *          ◀────────────────────────────────────────────  wakes main, which writes the next chunk)
 *   DONE: CAS DONE → IDLE, return the response
 *
 * Arguments go by postMessage (structured clone, any size). Results go through the buffer, one chunk per
 * wake-up: a response larger than the payload area takes ceil(size / capacity) round trips (~64 KiB each)
 * instead of failing, and the buffer never grows. Responses above MAX_RESPONSE_BYTES are replaced by a host
 * error, so a runaway host function cannot make the worker allocate without bound.
 *
 * Shared buffer layout (one per guest, 16-byte header, then the payload area):
 *
 *   byte 0   i32 state       IDLE 0 | WAITING 1 | CHUNK 2 | DONE 3 | INTERRUPTED 4
 *   byte 4   i32 interrupt   1 once interrupt() was called; read by the worker at each host call and by its
 *                            epoch-deadline callback
 *   byte 8   u32 chunk length  bytes of payload in the current chunk
 *   byte 12  u32 total length  bytes of the whole response (every chunk repeats it)
 *   byte 16  payload area, DEFAULT_PAYLOAD_CAPACITY (64 KiB) by default
 *
 * Interruption: interrupt() stores INTERRUPTED (whatever the state) and notifies. INTERRUPTED is terminal:
 * every CAS of either side then fails, the blocked worker wakes and fails the call, the main thread drops a
 * response it was about to write.
 */

export const DEFAULT_PAYLOAD_CAPACITY = 64 * 1024;
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

const HEADER_BYTES = 16;
const STATE = 0;
const INTERRUPT = 1;
const CHUNK_LENGTH = 2;
const TOTAL_LENGTH = 3;

const IDLE = 0;
const WAITING = 1;
const CHUNK = 2;
const DONE = 3;
const INTERRUPTED = 4;

/** A fresh shared buffer for one guest. */
export function createSharedBuffer(payloadCapacity = DEFAULT_PAYLOAD_CAPACITY): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + payloadCapacity);
}

/** The main thread's end: answers calls and interrupts. */
export class HostCallResponder {
  private readonly control: Int32Array;
  private readonly payload: Uint8Array;

  constructor(shared: SharedArrayBuffer) {
    this.control = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.payload = new Uint8Array(shared, HEADER_BYTES);
  }

  get interrupted(): boolean {
    return Atomics.load(this.control, INTERRUPT) === 1;
  }

  /**
   * Delivers a response to the worker waiting in a call, chunk by chunk. Resolves when the last chunk is
   * written, or at once when the guest was interrupted meanwhile (the response is dropped).
   */
  async respond(response: Uint8Array): Promise<void> {
    const capacity = this.payload.length;
    let offset = 0;
    for (;;) {
      const length = Math.min(capacity, response.length - offset);
      this.payload.set(response.subarray(offset, offset + length));
      this.control[CHUNK_LENGTH] = length;
      this.control[TOTAL_LENGTH] = response.length;
      const last = offset + length >= response.length;
      // The CAS is a full barrier: the worker sees payload and lengths once it sees the new state.
      if (Atomics.compareExchange(this.control, STATE, WAITING, last ? DONE : CHUNK) !== WAITING) return;
      Atomics.notify(this.control, STATE);
      if (last) return;
      offset += length;
      const wait = Atomics.waitAsync(this.control, STATE, CHUNK);
      if (wait.async) await wait.value;
    }
  }

  /** Marks the guest interrupted and wakes its worker if it is blocked in a call. */
  interrupt(): void {
    Atomics.store(this.control, INTERRUPT, 1);
    Atomics.store(this.control, STATE, INTERRUPTED);
    Atomics.notify(this.control, STATE);
  }
}

/** What a blocked call ends with on the worker side. */
export type CallOutcome = { interrupted: false; response: Uint8Array } | { interrupted: true };

/** The worker's end: blocks in calls. */
export class HostCallWaiter {
  private readonly control: Int32Array;
  private readonly payload: Uint8Array;

  constructor(shared: SharedArrayBuffer) {
    this.control = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.payload = new Uint8Array(shared, HEADER_BYTES);
  }

  get interruptRequested(): boolean {
    return Atomics.load(this.control, INTERRUPT) === 1;
  }

  /** Claims the channel for a call; false when the guest was interrupted (then make no call). */
  begin(): boolean {
    return Atomics.compareExchange(this.control, STATE, IDLE, WAITING) === IDLE;
  }

  /** Blocks until the main thread delivered the whole response (or interrupted the guest). */
  awaitResponse(): CallOutcome {
    let assembled: Uint8Array | undefined;
    let received = 0;
    for (;;) {
      Atomics.wait(this.control, STATE, WAITING);
      const state = Atomics.load(this.control, STATE);
      if (state === WAITING) continue;
      if (state !== CHUNK && state !== DONE) return { interrupted: true };
      const length = this.control[CHUNK_LENGTH]!;
      const total = this.control[TOTAL_LENGTH]!;
      if (state === DONE && assembled === undefined) {
        const response = this.payload.slice(0, length);
        Atomics.compareExchange(this.control, STATE, DONE, IDLE);
        return { interrupted: false, response };
      }
      assembled ??= new Uint8Array(total);
      assembled.set(this.payload.subarray(0, length), received);
      received += length;
      if (state === DONE) {
        Atomics.compareExchange(this.control, STATE, DONE, IDLE);
        return { interrupted: false, response: assembled };
      }
      if (Atomics.compareExchange(this.control, STATE, CHUNK, WAITING) !== CHUNK) return { interrupted: true };
      Atomics.notify(this.control, STATE);
    }
  }
}
