/**
 * The counter's component (SPEC 7.1): a signed 32-bit count in memory, starting at 0.
 *
 *   UI → app    increment | decrement | reset | get      (surrounding whitespace ignored)
 *   app → UI    {"count":N}                               (the count after the command)
 *
 * Anything else gets no reply. Built into app.wasm by apps/build.ts (QuickJS through componentize-qjs).
 */

import { ready } from "weft:app/notify@0.1.0";
import { recvWait, send } from "weft:app/ipc@0.1.0";

/** How long one recv-wait may last before the loop asks again (the host answers at once when a message comes). */
const WAIT_MS = 30_000;

/** Rust's str::trim: Unicode White_Space, which unlike String.prototype.trim has U+0085 and not U+FEFF. */
const EDGE_WHITE_SPACE = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

let count = 0;

/** The reply to one trimmed message, or undefined for a message the counter does not know. */
function handle(message: string): string | undefined {
  switch (message) {
    case "increment":
      count = (count + 1) | 0; // wraps like the reference's i32 in a release build
      break;
    case "decrement":
      count = (count - 1) | 0;
      break;
    case "reset":
      count = 0;
      break;
    case "get":
      break;
    default:
      return undefined;
  }
  return JSON.stringify({ count });
}

/** wasi:cli/run: the runtime calls this once; it serves the UI until the session is stopped. */
export const run = {
  run(): void {
    ready();
    for (;;) {
      // Waits in the host until the UI sends something: no polling, no CPU while idle.
      const message = recvWait(WAIT_MS);
      if (message === null || message === undefined) continue;
      const reply = handle(message.replace(EDGE_WHITE_SPACE, ""));
      if (reply === undefined) continue;
      try {
        send(reply);
      } catch {
        // No UI connected (yet): the UI asks again with `get` when it connects.
      }
    }
  },
};
