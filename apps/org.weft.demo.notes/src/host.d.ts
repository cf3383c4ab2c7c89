/**
 * The WASI filesystem interfaces the notes app uses, as the QuickJS engine (componentize-qjs) hands them to the
 * guest (the weft:app interfaces are declared once for every app, in apps/weft-app.d.ts). A resource is an
 * object with methods, released with `[Symbol.dispose]()`; `u64` is a number.
 */

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
    /** Waits until the file's data is on the storage device. */
    syncData(): void;
    /** Renames `oldPath` in this directory to `newPath` in `newDescriptor`, replacing what is there at once. */
    renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void;
    /** Removes the file at `path` in this directory. */
    unlinkFileAt(path: string): void;
    [Symbol.dispose](): void;
  }
}

declare module "wasi:filesystem/preopens@0.2.12" {
  import type { Descriptor } from "wasi:filesystem/types@0.2.12";
  /** The directories the runtime preopened, each with its guest path (`/data`). */
  export function getDirectories(): Array<[Descriptor, string]>;
}
