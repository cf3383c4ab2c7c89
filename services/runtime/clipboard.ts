/**
 * `weft:app/clipboard` for guests: the compositor's clipboard (org.weft.Compositor1 ClipboardGet/ClipboardSet,
 * docs/compositor.md), reached over the runtime's bus connection. host.ts has already checked the capability
 * (sys:clipboard:read for read, sys:clipboard:write for write) and logged a denial.
 *
 * The guest sees text only: read asks for text/plain;charset=utf-8 (the compositor falls back to the other text
 * types the owner offers) and must get valid UTF-8; write offers the text under every text type. What the
 * guest reads is whatever the user (or another app) last copied in any session: that is what the capability
 * means ("Read what you copied to the clipboard"), which is why it is declared and shown at install.
 */

import { Compositor, Compositor1, errorName } from "../../protocol/dbus/index.ts";
import { ErrorNames, isBusError, type BusConnection } from "../common/bus/index.ts";
import { SealedContentError, takeSealedContent, withSealedContent } from "../common/os/sealed-content.ts";
import type { WitValue } from "./wasmtime/index.ts";

const TEXT = "text/plain;charset=utf-8";
/** The compositor's own limit (services/compositor/clipboard.ts); refused here before the bus. */
const MAX_BYTES = 16 * 1024 * 1024;

const ok = (val?: WitValue): WitValue => (val === undefined ? { tag: "ok" } : { tag: "ok", val });
const err = (message: string): WitValue => ({ tag: "err", val: message });

/** A failed Compositor1 call as the guest's error message. */
function explain(error: unknown): string {
  if (!isBusError(error)) throw error;
  switch (error.type) {
    case ErrorNames.ServiceUnknown:
    case ErrorNames.NameHasNoOwner:
      return `no clipboard is available: the compositor (${Compositor.busName}) is not running in this session`;
    case errorName(Compositor1, "NotFound"):
      return "the clipboard is empty";
    case errorName(Compositor1, "NotOffered"):
      return `the clipboard holds no text (${error.message})`;
    default:
      return `the clipboard could not be used: ${error.message}`;
  }
}

export async function clipboardRead(bus: BusConnection): Promise<WitValue> {
  let bytes: Uint8Array;
  try {
    // The text comes in a sealed memfd (common/os/sealed-content.ts), never in the bus message.
    const fd = await bus.proxy(Compositor1, Compositor).call("ClipboardGet", TEXT);
    bytes = takeSealedContent(fd, MAX_BYTES);
  } catch (error) {
    if (error instanceof SealedContentError) return err(`the clipboard's answer was refused: ${error.message}`);
    return err(explain(error));
  }
  try {
    return ok(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return err(`the clipboard's text is not valid UTF-8 (${bytes.length} bytes)`);
  }
}

export async function clipboardWrite(bus: BusConnection, text: string): Promise<WitValue> {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length > MAX_BYTES) return err(`the clipboard holds at most ${MAX_BYTES} bytes; this text is ${bytes.length}`);
  try {
    await withSealedContent("weft-clipboard-write", bytes, (fd) => bus.proxy(Compositor1, Compositor).call("ClipboardSet", fd, TEXT));
    return ok();
  } catch (error) {
    return err(explain(error));
  }
}
