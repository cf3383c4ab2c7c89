/**
 * The weft:app host interfaces (protocol/wit/weft-app.wit) as the QuickJS engine (componentize-qjs) hands them
 * to a guest written in TypeScript: one ES module per WIT interface, named by its versioned WIT name, with
 * camelCase functions. `option<T>` is the value or null; a function returning `result` returns the ok value or
 * throws an Error whose message is the error; records are objects with camelCase fields.
 *
 * One file for every app in this repository (and the runtime's test apps): only what the apps import is
 * declared. Interfaces an app's world does not import are not available to it at run time, whatever this says.
 */

declare module "weft:app/notify@0.1.0" {
  /** Tells WEFT the app has started; later calls are ignored. */
  export function ready(): void;
}

declare module "weft:app/ipc@0.1.0" {
  /** Sends one message to the app's UI (held until a UI attaches). Throws when it cannot be queued. */
  export function send(payload: string): void;
  /** The next message from the UI, or null when none is waiting. Never blocks. */
  export function recv(): string | null;
  /** The next message from the UI as soon as it arrives, or null after `timeoutMs` (WEFT extension). */
  export function recvWait(timeoutMs: number): string | null;
}

declare module "weft:app/fetch@0.1.0" {
  export interface Response {
    status: number;
    contentType: string;
    body: Uint8Array;
  }
  /** Throws an Error whose message is the host's error (denied host, transport failure, status ≥ 400). */
  export function fetch(url: string, method: string, headers: [string, string][], body: Uint8Array | null): Response;
}

declare module "weft:app/files@0.1.0" {
  export type EntryKind = "file" | "directory" | "other";
  export interface DirEntry {
    name: string;
    kind: EntryKind;
  }
  /** Each function throws an Error whose message is the portal's (denied, not found, read-only, …). */
  export function read(path: string): Uint8Array;
  export function write(path: string, data: Uint8Array): void;
  export function listDir(path: string): DirEntry[];
}

declare module "weft:app/clipboard@0.1.0" {
  /** The clipboard's text. Throws when it is empty, holds no text, is denied, or there is no compositor. */
  export function read(): string;
  /** Replaces the clipboard's contents with `text` (offered as text to every app). Throws when denied or failed. */
  export function write(text: string): void;
}
