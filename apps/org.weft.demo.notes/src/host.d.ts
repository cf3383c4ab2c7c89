/**
 * The host interfaces the notes app's world imports (wit/world.wit), as the QuickJS engine (componentize-qjs)
 * hands them to the guest: one ES module per WIT interface, named by its versioned WIT name, with camelCase
 * functions. `option<T>` is the value or null; a function returning `result` returns the ok value or throws
 * an Error whose message is the error; `u64` is a number; a resource is an object with methods, released with
 * `[Symbol.dispose]()`.
 *
 * Only functions and interfaces are declared here, so this file merges with the counter's copy when both are
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


declare module "wasi:filesystem/types@0.2.12" {
  export interface PathFlags {
    symlinkFollow?: boolean;
  }
  export interface OpenFlags {
    create?: boolean;
    directory?: boolean;
    exclusive?: boolean;
    truncate?: boolean;
  }
  export interface DescriptorFlags {
    read?: boolean;
    write?: boolean;
    mutateDirectory?: boolean;
  }
  /** Only the field the notes app reads. */
  export interface DescriptorStat {
    size: number;
  }
  /**
   * An open file or directory. Failing methods throw an Error whose message is the wasi:filesystem error-code
   * case (`no-entry`, `access`, `read-only`, …).
   */
  export interface Descriptor {
    openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor;
    /** Up to `length` bytes from `offset`, and whether the end of the file was reached. */
    read(length: number, offset: number): [Uint8Array, boolean];
    /** Writes `buffer` at `offset`; returns how many bytes were written. */
    write(buffer: Uint8Array, offset: number): number;
    stat(): DescriptorStat;
    [Symbol.dispose](): void;
  }
}

declare module "wasi:filesystem/preopens@0.2.12" {
  import type { Descriptor } from "wasi:filesystem/types@0.2.12";
  /** The directories the runtime preopened, each with its guest path (`/data`). */
  export function getDirectories(): Array<[Descriptor, string]>;
}
