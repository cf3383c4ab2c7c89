/**
 * The host interfaces the counter's world imports (wit/world.wit), as the QuickJS engine (componentize-qjs)
 * hands them to the guest: one ES module per WIT interface, named by its versioned WIT name, with camelCase
 * functions. `option<T>` is the value or null; a function returning `result` returns the ok value or throws
 * an Error whose message is the error; `u64` is a number; a resource is an object with methods, released with
 * `[Symbol.dispose]()`.
 *
 * Only functions and interfaces are declared here, so this file merges with the notes app's copy when both are
 * type-checked in one program.
 */

declare module "weft:app/notify@0.1.0" {
  /** Tells WEFT the app has started; later calls are ignored. */
  export function ready(): void;
}

declare module "weft:app/ipc@0.1.0" {
  /** Sends one message to the app's UI. Throws when no UI is connected. */
  export function send(payload: string): void;
  /** The next message from the UI, or null when none is waiting. Never blocks. */
  export function recv(): string | null;
  /** The next message from the UI as soon as it arrives, or null after `timeoutMs` (WEFT extension). */
  export function recvWait(timeoutMs: number): string | null;
}

