/**
 * Benchmark: a guest's call to a host function, end to end (guest → Wasmtime → JSCallback on the worker →
 * postMessage → async host function on the main thread → shared buffer → Atomics.notify → results written
 * back into Wasmtime → guest), against the same cross-thread protocol with no Wasmtime (fixtures/
 * round-trip-worker.ts), measured in the same run. The ratio is what Wasmtime and the value conversions add
 * to the unavoidable thread hand-off.
 */

import { type BenchResult, median, result } from "./result.ts";
import { watGuest } from "../services/runtime/wasmtime/fixtures/fixtures.ts";
import { createSharedBuffer, HostCallResponder } from "../services/runtime/wasmtime/host-call.ts";
import { startGuest } from "../services/runtime/wasmtime/index.ts";
import { encodeResults } from "../services/runtime/wasmtime/wire.ts";

const CALLS = 5000;
const ROUNDS = 5;
const MESSAGE = "m".repeat(1024);

/** µs per call of `fixtures/ticker.wat` calling `next: func() -> bool` CALLS times (first to last call). */
async function tickerCall(): Promise<number> {
  let seen = 0;
  let first = 0;
  let last = 0;
  const guest = await startGuest({
    component: { bytes: await watGuest("ticker") },
    imports: [
      {
        interface: "weft-test:host/ticker",
        functions: {
          next: () => {
            last = performance.now();
            if (seen === 0) first = last;
            return [++seen <= CALLS];
          },
        },
      },
    ],
    onOutput: () => {},
  });
  await guest.exited;
  return ((last - first) * 1000) / CALLS;
}

/** µs per host call of `fixtures/echo.wat` echoing CALLS/2 messages of 1 KiB (recv + send each). */
async function echoCall(): Promise<number> {
  let received = 0;
  let first = 0;
  let last = 0;
  const messages = CALLS / 2;
  const guest = await startGuest({
    component: { bytes: await watGuest("echo") },
    imports: [
      { interface: "weft:app/notify@0.1.0", functions: { ready: () => [] } },
      {
        interface: "weft:app/ipc@0.1.0",
        functions: {
          recv: () => {
            last = performance.now();
            if (received === 0) first = last;
            return [received++ < messages ? { tag: "some", val: MESSAGE } : { tag: "none" }];
          },
          send: () => [{ tag: "ok" }],
        },
      },
    ],
    onOutput: () => {},
  });
  await guest.exited;
  return ((last - first) * 1000) / (2 * messages);
}

/** µs per round trip of the bare protocol, carrying `payload` out and `answer` back. */
async function protocolRoundTrip(payload: string, answer: unknown): Promise<number> {
  const shared = createSharedBuffer();
  const responder = new HostCallResponder(shared);
  const worker = new Worker(new URL("../services/runtime/wasmtime/fixtures/round-trip-worker.ts", import.meta.url).href);
  try {
    return await new Promise<number>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<{ type: string; microsPerCall?: number }>) => {
        if (event.data.type === "call") void responder.respond(encodeResults([answer]));
        else resolve(event.data.microsPerCall!);
      };
      worker.onerror = (event) => reject(new Error(event.message));
      worker.postMessage({ shared, calls: CALLS, payload });
    });
  } finally {
    worker.terminate();
  }
}

async function medianOf(measure: () => Promise<number>): Promise<number> {
  await measure(); // warm-up: JIT, page cache, first compile of the fixture
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await measure());
  return median(samples);
}

export async function benchHostCall(): Promise<BenchResult[]> {
  const ticker = await medianOf(tickerCall);
  const bare = await medianOf(() => protocolRoundTrip("", true));
  const echo = await medianOf(echoCall);
  const bareMessage = await medianOf(() => protocolRoundTrip(MESSAGE, { tag: "some", val: MESSAGE }));
  return [
    result("host call: next() -> bool", ticker, "µs", "worker⇄main round trip, no Wasmtime", bare),
    result("host call: ipc recv/send, 1 KiB string", echo, "µs", "round trip with 1 KiB each way, no Wasmtime", bareMessage),
  ];
}

if (import.meta.main) {
  const { formatTable } = await import("./result.ts");
  console.log(formatTable(await benchHostCall()));
}
