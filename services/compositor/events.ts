/**
 * The compositor thread's events (native/compositor/src/events.c): one tab-separated line each, read from the
 * pipe the library hands over, parsed here by protocol/compositor-events.ts's table into typed events; the pipe's
 * end of file means the compositor thread is gone.
 */

import { COMPOSITOR_EVENTS, type EventField } from "../../protocol/compositor-events.ts";
import { closeFd } from "../common/bus/index.ts";
import type { ClientRole } from "./native.ts";

export type CompositorEvent =
  | { kind: "window-mapped"; id: number; session: bigint; role: ClientRole; appId: string; title: string; x: number; y: number; width: number; height: number }
  | { kind: "window-changed"; id: number; session: bigint; appId: string; title: string }
  | { kind: "window-closed"; id: number; session: bigint }
  | { kind: "focus"; id: number; session: bigint }
  | { kind: "gesture"; type: number; fingers: number; dx: number; dy: number };

function fieldValue(type: EventField[1], text: string | undefined): unknown {
  switch (type) {
    case "u32":
    case "i32":
      return Number.parseInt(text ?? "", 10);
    case "u64":
      return BigInt(/^\d+$/.test(text ?? "") ? text! : 0);
    case "role":
      return text === "shell" ? "shell" : "application";
    case "text":
      return text ?? "";
    case "float":
      return Number(text);
  }
}

/** One line → an event; null for a line this version does not know (a newer library), which is skipped. */
export function parseEventLine(line: string): CompositorEvent | null {
  const [kind, ...texts] = line.split("\t");
  // Own keys only: a line naming "toString" or "__proto__" is an unknown event, not the prototype's.
  if (kind === undefined || !Object.hasOwn(COMPOSITOR_EVENTS, kind)) return null;
  const fields: readonly EventField[] = COMPOSITOR_EVENTS[kind as keyof typeof COMPOSITOR_EVENTS];
  const event: Record<string, unknown> = { kind };
  fields.forEach(([name, type], i) => (event[name] = fieldValue(type, texts[i])));
  return event as CompositorEvent;
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
