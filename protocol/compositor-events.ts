/**
 * The events the compositor thread sends to its Bun side (native/compositor/src/events.c → services/compositor/
 * events.ts): one line per event through a pipe, the event's name then its fields, separated by tabs, in the order
 * this table gives. Text fields never hold a tab, a newline or another control character (the compositor turns
 * them into spaces). `compositor-events.test.ts` checks events.c's formats against this table.
 *
 *   window-mapped\t7\t3\tapplication\torg.weft.demo.counter\tCounter\t0\t48\t1280\t672\n
 */

/** A field: its name in the parsed event, and how its text is read. */
export type EventField = readonly [name: string, type: "u32" | "i32" | "u64" | "role" | "text" | "float"];

export const COMPOSITOR_EVENTS = {
  /** A toplevel was mapped: where the layout placed it, in layout coordinates. */
  "window-mapped": [["id", "u32"], ["session", "u64"], ["role", "role"], ["appId", "text"], ["title", "text"], ["x", "i32"], ["y", "i32"], ["width", "i32"], ["height", "i32"]],
  /** A mapped toplevel set its app id or title. */
  "window-changed": [["id", "u32"], ["session", "u64"], ["appId", "text"], ["title", "text"]],
  /** A mapped toplevel was unmapped or destroyed. */
  "window-closed": [["id", "u32"], ["session", "u64"]],
  /** Keyboard focus moved to a window (0 0: to nothing). */
  focus: [["id", "u32"], ["session", "u64"]],
  /** A navigation gesture: a 3+-finger swipe, or Super+arrow. */
  gesture: [["type", "u32"], ["fingers", "u32"], ["dx", "float"], ["dy", "float"]],
} as const satisfies Record<string, readonly EventField[]>;

export type CompositorEventName = keyof typeof COMPOSITOR_EVENTS;
