/**
 * The clipboard on org.weft.Compositor1: ClipboardGet/ClipboardSet and their primary-selection twins
 * (native/compositor/src/clipboard.c does the Wayland side).
 *
 * Reading: the library asks the selection's owner — another client, possibly hostile — to write into a pipe
 * and gives us the read end. We read it here, on Bun's event loop, with a size limit and a timeout: an owner
 * that never writes, never closes, or writes forever costs one pipe for at most READ_TIMEOUT_MS, and the
 * compositor thread never waits on it.
 *
 * The bytes cross the bus in sealed memfds (common/os/sealed-content.ts), never in a message: a monitor of the
 * user's bus sees an fd, not what was copied.
 *
 * Who may call: the shell and the runtimes (which gate apps with sys:clipboard:read / sys:clipboard:write), as
 * interface.ts checks. Wayland clients never reach this: between clients, only the keyboard-focused client is offered
 * the selection (wlroots), and only a client holding a recent input serial may set it.
 */

import { Compositor1 } from "../../protocol/dbus/index.ts";
import { busError, closeFd, requireSameUid, type CallContext, type Handlers } from "../common/bus/index.ts";
import { readSealedContent, SealedContentError, sealedContent } from "../common/os/sealed-content.ts";
import { CompositorError, type NativeCompositor } from "./native.ts";

/** The most the compositor reads from, or accepts for, the clipboard (also the library's limit). */
export const CLIPBOARD_MAX_BYTES = 16 * 1024 * 1024;
/** How long a read may take from the ClipboardGet call to the owner's end of file. */
export const READ_TIMEOUT_MS = 5_000;
/** What "text" means to callers that do not care which text type the owner offers. */
export const TEXT_MIME = "text/plain;charset=utf-8";

const ENOENT = 2;
const ENODATA = 61;

/**
 * A mime type ("type/subtype" with optional ";parameters") or an X11 target name (UTF8_STRING), at most 255
 * printable ASCII characters. Anything else (control characters, NUL, non-ASCII) is refused at the edge.
 */
const MIME = /^(?:[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:;[\x20-\x7e]*)?|[A-Z][A-Z0-9_]*)$/;
const MIME_MAX = 255;

export class ClipboardReadError extends Error {
  constructor(
    readonly reason: "TooLarge" | "TimedOut",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads `fd` to end of file, at most `limit` bytes, within `timeoutMs`; always closes `fd`. Throws
 * ClipboardReadError "TooLarge" or "TimedOut".
 */
export async function readLimited(fd: number, limit: number, timeoutMs: number): Promise<Uint8Array> {
  const reader = Bun.file(fd).stream().getReader();
  let timer: Timer | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === "timeout") {
        throw new ClipboardReadError("TimedOut", `the selection's owner did not finish writing it within ${timeoutMs} ms (a stuck or hostile client)`);
      }
      if (next.done) break;
      total += next.value.length;
      if (total > limit) {
        throw new ClipboardReadError("TooLarge", `the selection is larger than ${limit} bytes; the compositor reads at most that`);
      }
      chunks.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    // Stops Bun's reader (a pending read resolves as done); the fd stays ours to close.
    await reader.cancel().catch(() => {});
    closeFd(fd);
  }
  return Buffer.concat(chunks);
}

function checkMime(mime: string): void {
  if (mime.length > MIME_MAX || !MIME.test(mime)) {
    const shown = mime.length > 64 ? `${JSON.stringify(mime.slice(0, 64))}… (${mime.length} characters)` : JSON.stringify(mime);
    throw busError(Compositor1, "InvalidArgs", `${shown} is not a mime type: use e.g. "${TEXT_MIME}" or "image/png" (printable ASCII, at most ${MIME_MAX} characters)`);
  }
}

/** Reads the selection (or the primary selection) as `mime`, mapping every failure to a named bus error. */
export async function clipboardGet(compositor: NativeCompositor, mime: string, primary: boolean): Promise<Uint8Array> {
  checkMime(mime);
  const what = primary ? "the primary selection" : "the clipboard";
  let received: { fd: number; mime: string };
  try {
    received = compositor.clipboardReceive(mime, primary);
  } catch (error) {
    if (!(error instanceof CompositorError)) throw error;
    if (error.errno === ENOENT) throw busError(Compositor1, "NotFound", `nothing is copied to ${what}`);
    if (error.errno === ENODATA) {
      const offered = compositor.clipboardTypes(primary) ?? [];
      throw busError(Compositor1, "NotOffered", `${what} is not offered as ${mime}; it is offered as: ${offered.join(", ") || "(nothing)"}`);
    }
    throw busError(Compositor1, "Failed", error.message);
  }
  try {
    return await readLimited(received.fd, CLIPBOARD_MAX_BYTES, READ_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof ClipboardReadError) throw busError(Compositor1, error.reason, `reading ${what} as ${received.mime}: ${error.message}`);
    throw error;
  }
}

/** Makes the compositor own the selection (or the primary selection) with `data` as `mime`. */
export function clipboardSet(compositor: NativeCompositor, data: Uint8Array, mime: string, primary: boolean): void {
  checkMime(mime);
  if (data.length > CLIPBOARD_MAX_BYTES) {
    throw busError(Compositor1, "TooLarge", `${data.length} bytes is more than the clipboard holds (${CLIPBOARD_MAX_BYTES} bytes)`);
  }
  try {
    compositor.clipboardSet(data, mime, primary);
  } catch (error) {
    if (error instanceof CompositorError) throw busError(Compositor1, "Failed", error.message);
    throw error;
  }
}

/** The Compositor1 clipboard methods, for callers with the compositor's own uid that `allow` lets through. */
type ClipboardMethods = Pick<Handlers<typeof Compositor1>["methods"], "ClipboardGet" | "ClipboardSet" | "PrimarySelectionGet" | "PrimarySelectionSet">;

export function clipboardMethods(compositor: NativeCompositor, allow: (ctx: CallContext) => Promise<void>): ClipboardMethods {
  const get = (primary: boolean) => async ([mime]: [string], ctx: CallContext) => {
    await requireSameUid(ctx, Compositor1);
    await allow(ctx);
    const data = await clipboardGet(compositor, mime, primary);
    ctx.log.info("selection read", { primary, mime, bytes: data.length });
    return ctx.closeAfterReply(sealedContent("weft-clipboard", data));
  };
  const set = (primary: boolean) => async ([content, mime]: [number, string], ctx: CallContext) => {
    await requireSameUid(ctx, Compositor1);
    await allow(ctx);
    let data: Uint8Array;
    try {
      data = readSealedContent(content, CLIPBOARD_MAX_BYTES);
    } catch (error) {
      if (!(error instanceof SealedContentError)) throw error;
      const name = error.reason === "too-large" ? "TooLarge" : "InvalidArgs";
      throw busError(Compositor1, name, `${error.message} (the clipboard holds at most ${CLIPBOARD_MAX_BYTES} bytes)`);
    }
    clipboardSet(compositor, data, mime, primary);
    ctx.log.info("selection set", { primary, mime, bytes: data.length });
  };
  return {
    ClipboardGet: get(false),
    ClipboardSet: set(false),
    PrimarySelectionGet: get(true),
    PrimarySelectionSet: set(true),
  };
}
