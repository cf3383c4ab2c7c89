/**
 * The messages between a guest and its worker (postMessage, structured clone). Host-call responses do not
 * travel here but through the shared buffer (host-call.ts).
 */

import type { WitValue } from "./values.ts";

/** How a guest's `wasi:cli/run` ended. */
export interface GuestExit {
  /**
   * returned-ok / returned-err: run returned ok / err. exit: the guest called WASI exit (`code`).
   * trap: the guest trapped (unreachable, out-of-bounds access, stack overflow, …).
   * out-of-memory: the guest's memory limit refused a growth, and the guest then trapped, returned err or
   * exited with a failure (what it did is in `message`).
   * interrupted: interrupt() or terminate() stopped it.
   * error: the host failed it: a host function threw or returned a value that does not fit its WIT type,
   * or the worker itself failed.
   */
  status: "returned-ok" | "returned-err" | "exit" | "trap" | "out-of-memory" | "interrupted" | "error";
  /** The WASI exit code, for status "exit". */
  code?: number;
  /** A readable reason: the trap message, the host error, "run returned ok". */
  message: string;
  /** Wasmtime's full error text with the wasm backtrace, when there is one. */
  detail?: string;
}

/** One imported interface as the worker links it: function names in the order of their call index. */
export interface LinkedInterface {
  interface: string;
  functions: string[];
}

/** Main → worker: run a guest (the worker's only message). */
export interface StartMessage {
  type: "start";
  libraryPath: string;
  /** The shared wasm_engine_t* (engine.ts); the main thread keeps it alive for the whole process. */
  engine: number;
  component: { bytes: Uint8Array } | { precompiledFile: string };
  preopens: { hostPath: string; guestPath: string; writable: boolean }[];
  env: [string, string][];
  /** Paths of the write ends of the guest's stdout and stderr pipes (output.ts). */
  output: { stdout: string; stderr: string };
  imports: LinkedInterface[];
  /** Bytes each linear memory of the guest may have (none: no limit), enforced by the memory creator. */
  memoryLimitBytes?: number;
  shared: SharedArrayBuffer;
}

/** Main → worker: compile and serialize a component instead (precompileComponent), then end. */
export interface PrecompileMessage {
  type: "precompile";
  libraryPath: string;
  engine: number;
  bytes: Uint8Array;
}

/** Worker → main. */
export type WorkerMessage =
  | { type: "precompiled"; bytes: Uint8Array }
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "call"; fn: number; args: WitValue[] }
  | { type: "exit"; exit: GuestExit };
