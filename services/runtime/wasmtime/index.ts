/**
 * The Wasmtime layer of weft-runtime: runs one WASI 0.2 command component per guest, on its own Bun Worker,
 * with host functions (`weft:app/*`) implemented by the caller on the main thread, asynchronously.
 *
 *   main thread                                      guest worker (guest-worker.ts)
 *   startGuest ── StartMessage + shared buffer ────▶ compile, link, store, instantiate
 *              ◀── "ready" (or "failed": rejects) ─── call wasi:cli/run (synchronous, inside Wasmtime)
 *   host function ◀── "call" (postMessage) ────────── guest calls an import → JSCallback, blocks
 *   (async)       ── response (shared buffer) ─────▶ wakes, writes the results, guest continues
 *   onOutput      ◀── stdout/stderr pipes ─────────── guest writes (output.ts)
 *   exited        ◀── "exit" ──────────────────────── run returned / trapped / exited / was interrupted
 *   interrupt()   ── flag + engine epoch bump ─────▶ guest stops at its next epoch check or host call
 *
 * How WIT values look in JavaScript: values.ts (options and results are tagged objects). The host-call
 * protocol: host-call.ts. Engine settings: engine.ts. Precompiled files: precompiled.ts.
 *
 * A host function that throws (or returns something its WIT type does not allow) fails the guest: the guest
 * traps at that call and `exited` resolves with status "error" and a message naming the function. Host
 * functions report expected failures as values (`{ tag: "err", val: "…" }`), never by throwing.
 *
 * interrupt() stops wasm code, not the host: a guest blocked inside a WASI call (sleeping in poll) stops when
 * that call returns, before running any further wasm. terminate() waits up to 5 s for that, then gives up on
 * the worker; exit the process to reclaim it.
 */

import { resolve } from "node:path";
import { engineFingerprint, sharedEngine } from "./engine.ts";
import { createSharedBuffer, HostCallResponder, MAX_RESPONSE_BYTES } from "./host-call.ts";
import { GuestOutput } from "./output.ts";
import { loadWasmtime, resolveLibraryPath } from "./library.ts";
import type { GuestExit, LinkedInterface, PrecompileMessage, StartMessage, WorkerMessage } from "./messages.ts";
import type { WitValue } from "./values.ts";
import { encodeHostError, encodeResults } from "./wire.ts";

export type { GuestExit } from "./messages.ts";
export type { WitValue } from "./values.ts";
export { engineFingerprint };

/** The functions of one imported interface, by WIT function name. */
export interface HostImport {
  /** Fully qualified with version: `weft:app/ipc@0.1.0`. */
  interface: string;
  functions: Record<string, (args: WitValue[]) => Promise<WitValue[]> | WitValue[]>;
}

export interface GuestOptions {
  /** Default: $WEFT_WASMTIME_LIB, else native/wasmtime/target/release/libwasmtime.so. */
  libraryPath?: string;
  /** A component binary, or a file precompileComponent wrote. Precompiled files only from verified sources:
   * Wasmtime trusts them as machine code. */
  component: { bytes: Uint8Array } | { precompiledFile: string };
  /** Directories the guest sees; `writable: false` refuses every write under it. */
  preopens?: { hostPath: string; guestPath: string; writable: boolean }[];
  /** The guest's whole environment: nothing else leaks in (no args, no stdin, no inherited env). */
  env?: Record<string, string>;
  /** Every function the component imports outside WASI must be here, else instantiation fails naming it. */
  imports: HostImport[];
  /** Guest stdout/stderr as it arrives, on its own stream each (pipe reads: chunks need not match the guest's
   * writes). All of it is delivered before `exited` resolves. A sink that throws is ignored. */
  onOutput: (stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  /** The most linear memory (bytes) each memory of the guest may grow to; growing further fails in the
   * guest (memory.grow returns -1), and a guest that then fails ends `out-of-memory`; instantiating a component
   * that needs more fails. */
  memoryLimitBytes?: number;
  /** The most native stack wasm frames may use (default 512 KiB, at most 2 MiB); deeper recursion traps. */
  maxWasmStackBytes?: number;
}

/** A running guest. */
export interface Guest {
  /** Resolves once, when run has ended, the worker has freed everything (or terminate() gave up on it) and
   * the output is delivered. Never rejects. */
  readonly exited: Promise<GuestExit>;
  /** Stops the guest at its next epoch check (loop back-edges, function entries) or host call; `exited`
   * resolves with "interrupted". Harmless after exit. */
  interrupt(): void;
  /** Interrupts, waits for the worker to clean up (up to 5 s: a guest blocked in a WASI call only stops when
   * that call returns), then ends the worker. Resolves once `exited` has. */
  terminate(): Promise<void>;
}

/** How long terminate() waits for an interrupted guest to unwind before ending its worker regardless. */
const TERMINATE_GRACE_MS = 5000;

interface HostFunction {
  name: string;
  impl: HostImport["functions"][string];
}

class WorkerGuest implements Guest {
  readonly exited: Promise<GuestExit>;
  private resolveExit!: (exit: GuestExit) => void;
  private exitValue: GuestExit | undefined;
  private readonly responder: HostCallResponder;
  private readonly ready: Promise<void>;
  private settleReady!: (error?: Error) => void;
  private workerEnded = false;

  constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly engine: () => void,
    private readonly functions: HostFunction[],
    private readonly output: GuestOutput,
  ) {
    this.responder = new HostCallResponder(shared);
    this.exited = new Promise((resolveExit) => (this.resolveExit = resolveExit));
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.settleReady = (error) => (error === undefined ? resolveReady() : rejectReady(error));
    });
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => this.handleMessage(event.data);
    worker.onerror = (event: ErrorEvent) => this.handleWorkerFailure(`the guest worker failed: ${event.message}`);
    worker.addEventListener("close", () => this.handleWorkerFailure("the guest worker ended unexpectedly"));
  }

  /** Resolves when the guest is instantiated; rejects with the reason it could not be. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  private handleMessage(message: WorkerMessage): void {
    switch (message.type) {
      case "ready":
        this.output.closeWriteEnds();
        this.settleReady();
        return;
      case "failed":
        this.settleReady(new Error(message.message));
        void this.finish({ status: "error", message: message.message });
        return;
      case "call":
        void this.serveCall(message.fn, message.args);
        return;
      case "exit":
        void this.finish(message.exit);
        return;
    }
  }

  private async serveCall(index: number, args: WitValue[]): Promise<void> {
    const fn = this.functions[index];
    let response: Uint8Array;
    try {
      if (fn === undefined) throw new Error(`no host function ${index}`);
      const results = await fn.impl(args);
      if (!Array.isArray(results)) throw new TypeError("must return an array of results");
      response = encodeResults(results);
    } catch (error) {
      response = encodeHostError(`host function ${fn?.name ?? index} threw: ${(error as Error)?.message ?? String(error)}`);
    }
    if (response.length > MAX_RESPONSE_BYTES) {
      response = encodeHostError(`host function ${fn?.name ?? index} returned ${response.length} bytes, above the ${MAX_RESPONSE_BYTES}-byte limit`);
    }
    await this.responder.respond(response);
  }

  private handleWorkerFailure(message: string): void {
    if (this.workerEnded) return;
    this.workerEnded = true;
    this.settleReady(new Error(message));
    this.output.abort();
    void this.finish({ status: "error", message });
  }

  /**
   * Records the exit once, ends the worker (which freed everything before posting "exit" or "failed") and
   * resolves `exited` after the guest's last output was delivered.
   */
  private async finish(exit: GuestExit, forced = false): Promise<void> {
    if (this.exitValue !== undefined) return;
    this.exitValue = exit;
    this.workerEnded = true;
    this.worker.terminate();
    if (forced) this.output.abort();
    else await this.output.drain();
    this.resolveExit(exit);
  }

  interrupt(): void {
    if (this.exitValue !== undefined) return;
    this.responder.interrupt();
    this.engine();
  }

  async terminate(): Promise<void> {
    if (this.exitValue === undefined) {
      this.interrupt();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolveTimeout) => (timer = setTimeout(resolveTimeout, TERMINATE_GRACE_MS)));
      await Promise.race([this.exited.then(() => undefined), timeout]);
      clearTimeout(timer);
      await this.finish({ status: "interrupted", message: "the guest was terminated" }, true);
    }
    await this.exited;
  }
}

/** Checks options once, at the edge; everything inside trusts them. */
function validate(options: GuestOptions): { env: [string, string][]; imports: LinkedInterface[]; functions: HostFunction[] } {
  const env = Object.entries(options.env ?? {});
  for (const [name, value] of env) {
    if (typeof value !== "string" || name.length === 0 || name.includes("=") || name.includes("\0") || value.includes("\0")) {
      throw new TypeError(`invalid guest environment variable ${JSON.stringify(name)}`);
    }
  }
  for (const preopen of options.preopens ?? []) {
    if (!preopen.guestPath.startsWith("/") || preopen.hostPath.includes("\0") || preopen.guestPath.includes("\0")) {
      throw new TypeError(`invalid preopen ${JSON.stringify(preopen)}: the guest path must be absolute`);
    }
  }
  if (options.memoryLimitBytes !== undefined && (!Number.isSafeInteger(options.memoryLimitBytes) || options.memoryLimitBytes < 0)) {
    throw new RangeError(`memoryLimitBytes must be a non-negative integer, got ${options.memoryLimitBytes}`);
  }
  const imports: LinkedInterface[] = [];
  const functions: HostFunction[] = [];
  const seen = new Set<string>();
  for (const hostImport of options.imports) {
    if (!/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*(@[0-9A-Za-z.+-]+)?$/.test(hostImport.interface)) {
      throw new TypeError(`invalid interface name ${JSON.stringify(hostImport.interface)} (expected namespace:package/interface@version)`);
    }
    if (seen.has(hostImport.interface)) throw new TypeError(`interface ${hostImport.interface} is given twice`);
    seen.add(hostImport.interface);
    const names = Object.keys(hostImport.functions);
    for (const name of names) {
      const impl = hostImport.functions[name];
      if (typeof impl !== "function") throw new TypeError(`${hostImport.interface}#${name} is not a function`);
      functions.push({ name: `${hostImport.interface}#${name}`, impl });
    }
    imports.push({ interface: hostImport.interface, functions: names });
  }
  return { env, imports, functions };
}

/**
 * Starts a guest: compiles (or loads) the component on a new worker, links WASI 0.2 and `imports`,
 * instantiates it and calls `wasi:cli/run`. Resolves once instantiated; rejects when any of that fails (the
 * message says which step: compile, link, preopen, instantiate — a missing import is named there).
 */
export async function startGuest(options: GuestOptions): Promise<Guest> {
  const { env, imports, functions } = validate(options);
  const libraryPath = resolveLibraryPath(options.libraryPath);
  const wasmtime = loadWasmtime(libraryPath);
  const engine = sharedEngine({ libraryPath, ...(options.maxWasmStackBytes === undefined ? {} : { maxWasmStackBytes: options.maxWasmStackBytes }) });
  const shared = createSharedBuffer();
  const worker = new Worker(new URL("./guest-worker.ts", import.meta.url).href);
  const output = new GuestOutput(options.onOutput);
  const guest = new WorkerGuest(worker, shared, () => wasmtime.wasmtime_engine_increment_epoch(engine), functions, output);
  const start: StartMessage = {
    type: "start",
    libraryPath,
    engine: Number(engine),
    component: "bytes" in options.component ? { bytes: options.component.bytes } : { precompiledFile: resolve(options.component.precompiledFile) },
    preopens: (options.preopens ?? []).map((p) => ({ hostPath: resolve(p.hostPath), guestPath: p.guestPath, writable: p.writable })),
    env,
    output: output.paths,
    imports,
    ...(options.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: options.memoryLimitBytes }),
    shared,
  };
  worker.postMessage(start);
  await guest.whenReady();
  return guest;
}

/**
 * Compiles a component to Wasmtime's native code and serializes it (wasmtime_component_serialize) with the
 * engine every guest uses, in a file format with a SHA-256 (precompiled.ts), so that
 * startGuest({ component: { precompiledFile } }) loads it without compiling and refuses a damaged file.
 * Compiles on a worker: a large component takes seconds, which the main thread's event loop never waits for.
 */
export async function precompileComponent(bytes: Uint8Array, options: { libraryPath?: string } = {}): Promise<Uint8Array> {
  const libraryPath = resolveLibraryPath(options.libraryPath);
  loadWasmtime(libraryPath);
  const engine = sharedEngine({ libraryPath });
  const worker = new Worker(new URL("./guest-worker.ts", import.meta.url).href);
  try {
    return await new Promise<Uint8Array>((resolveCompiled, rejectCompiled) => {
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        if (event.data.type === "precompiled") resolveCompiled(event.data.bytes);
        else if (event.data.type === "failed") rejectCompiled(new Error(event.data.message));
      };
      worker.onerror = (event: ErrorEvent) => rejectCompiled(new Error(`the compile worker failed: ${event.message}`));
      const job: PrecompileMessage = { type: "precompile", libraryPath, engine: Number(engine), bytes };
      worker.postMessage(job);
    });
  } finally {
    worker.terminate();
  }
}
