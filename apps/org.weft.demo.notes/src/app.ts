/**
 * The notes app's component (SPEC 7.2): one plain-text note in `/data/notes.txt`.
 *
 *   UI → app    load            → {"text":"<the file's text>"}   (missing or unreadable file: "")
 *               save:<text>     → {"text":"<the saved text>"}    or {"error":"<why>"}
 *
 * In `<text>` every two-character sequence backslash-n stands for a newline (the UI encodes newlines that
 * way, so a message stays on one line). Messages are trimmed first, so trailing whitespace of a note is lost,
 * as in the reference. Replies are JSON.stringify'd: valid JSON, every control character escaped (the
 * reference escaped only \ " newline CR tab in text and only " in errors). Anything else gets no reply.
 */

import { ready } from "weft:app/notify@0.1.0";
import { recvWait, send } from "weft:app/ipc@0.1.0";
import { loadNotes, NotesFileError, saveNotes } from "./notes-file.ts";

/** How long one recv-wait may last before the loop asks again (the host answers at once when a message comes). */
const WAIT_MS = 30_000;

/** Rust's str::trim: Unicode White_Space, which unlike String.prototype.trim has U+0085 and not U+FEFF. */
const EDGE_WHITE_SPACE = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

const SAVE_PREFIX = "save:";

/** The reply to one trimmed message, or undefined for a message the app does not know. */
function handle(message: string): string | undefined {
  if (message === "load") return JSON.stringify({ text: loadNotes() });
  if (!message.startsWith(SAVE_PREFIX)) return undefined;
  const text = message.slice(SAVE_PREFIX.length).replaceAll("\\n", "\n");
  try {
    saveNotes(text);
  } catch (error) {
    if (!(error instanceof NotesFileError)) throw error;
    return JSON.stringify({ error: error.message });
  }
  return JSON.stringify({ text });
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
        // No UI connected (yet): the UI asks again with `load` when it connects.
      }
    }
  },
};
