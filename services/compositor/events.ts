/**
 * The compositor thread's events (native/compositor/src/events.c): one tab-separated line each, read from the
 * pipe the library hands over. Parsed here into typed events; the pipe's end of file means the compositor
 * thread is gone.
 */

import { closeFd } from "../common/bus/index.ts";
import type { ClientRole } from "./native.ts";

export type CompositorEvent =
  | { kind: "window-mapped"; id: number; session: bigint; role: ClientRole; appId: string; title: string; x: number; y: number; width: number; height: number }
  | { kind: "window-changed"; id: number; session: bigint; appId: string; title: string }
  | { kind: "window-closed"; id: number; session: bigint }
  | { kind: "focus"; id: number; session: bigint }
  | { kind: "gesture"; type: number; fingers: number; dx: number; dy: number };

/** One line → an event; null for a line this version does not know (a newer library), which is skipped. */
export function parseEventLine(line: string): CompositorEvent | null {
  const [kind, ...f] = line.split("\t");
  const int = (i: number) => Number.parseInt(f[i] ?? "", 10);
  const session = (i: number) => BigInt(/^\d+$/.test(f[i] ?? "") ? f[i]! : 0);
  switch (kind) {
    case "window-mapped":
      return {
        kind,
        id: int(0),
        session: session(1),
        role: f[2] === "shell" ? "shell" : "application",
        appId: f[3] ?? "",
        title: f[4] ?? "",
        x: int(5),
        y: int(6),
        width: int(7),
        height: int(8),
      };
    case "window-changed":
      return { kind, id: int(0), session: session(1), appId: f[2] ?? "", title: f[3] ?? "" };
    case "window-closed":
    case "focus":
      return { kind, id: int(0), session: session(1) };
    case "gesture":
      return { kind, type: int(0), fingers: int(1), dx: Number(f[2]), dy: Number(f[3]) };
    default:
      return null;
  }
}

/**
 * Reads `fd` until end of file, calling `onEvent` for each event in order. Resolves when the pipe ends; the
 * fd is closed then. `onEvent` errors are the caller's (they are not caught here).
 */
export async function readEvents(fd: number, onEvent: (event: CompositorEvent) => void): Promise<void> {
  let pending = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of Bun.file(fd).stream()) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const event = parseEventLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (event !== null) onEvent(event);
      }
    }
  } finally {
    closeFd(fd);
  }
}
