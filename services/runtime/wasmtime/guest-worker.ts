/**
 * The guest worker: one Bun Worker per guest, running the component synchronously through the Wasmtime C
 * API. It receives one StartMessage, then goes through the phases wasmtime's examples narrate:
 *
 *   1. compile   wasmtime_component_new (or deserialize a precompiled file) with the shared engine
 *   2. link      WASI 0.2 (add_wasip2) plus one host function per imported weft:app function, all served by
 *                one JSCallback that forwards the call to the main thread (host-call.ts)
 *   3. store     memory limit, epoch deadline + callback, WASI context (env, preopens, stdout/stderr
 *                pipes; no args, no stdin, no network)
 *   4. instantiate, find wasi:cli/run@0.2.x, report "ready"
 *   5. call run, classify how it ended, free everything, report "exit"
 *
 * Everything the worker creates it frees before reporting exit, so the main thread may terminate it then.
 */

import { JSCallback, type Pointer, ptr, read, toArrayBuffer } from "bun:ffi";
import { readFileSync } from "node:fs";
import { GuestMemoryBudget } from "./guest-memory.ts";
import { HostCallWaiter } from "./host-call.ts";
import { errorChain, loadWasmtime, rootCause, STRUCT_SIZES, takeErrorMessage, type WasmtimeSymbols } from "./library.ts";
import type { GuestExit, PrecompileMessage, StartMessage, WorkerMessage } from "./messages.ts";
import { unwrapPrecompiled, wrapPrecompiled } from "./precompiled.ts";
import { VAL_LAYOUT, ValKind, ValueCodec, type WitFuncType, type WitValue } from "./values.ts";
import { decodeResponse } from "./wire.ts";

declare const self: Worker;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

function mebibytes(bytes: number): string {
  return `${Number((bytes / 1024 / 1024).toFixed(1))} MiB`;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

/** Everything one guest holds; freed in reverse order of creation by `close`. */
class GuestInstance {
  private readonly wasmtime: WasmtimeSymbols;
  private readonly engine: Pointer;
  private readonly waiter: HostCallWaiter;
  private readonly codec: ValueCodec;
  private readonly callbacks: JSCallback[] = [];
  private readonly functionTypes = new Map<number, WitFuncType>();
  private readonly functionNames: string[] = [];
  private component: Pointer | null = null;
  private linker: Pointer | null = null;
  private store: Pointer | null = null;
  private context: Pointer | null = null;
  private readonly instance = new Uint8Array(STRUCT_SIZES.instance); // wasmtime_component_instance_t
  private readonly runFunc = new Uint8Array(STRUCT_SIZES.func); // wasmtime_component_func_t
  /** This guest's memory limit and what it refused (guest-memory.ts); released after the store. */
  private memoryBudget: GuestMemoryBudget | null = null;
  /** Set when a host function failed the call (threw, bad result): the exit is then the host's error. */
  private hostFailure: string | undefined;

  constructor(private readonly start: StartMessage) {
    this.wasmtime = loadWasmtime(start.libraryPath);
    this.engine = start.engine as Pointer;
    this.waiter = new HostCallWaiter(start.shared);
    this.codec = new ValueCodec(this.wasmtime);
  }

  // ------------------------------------------------------------------------------------------ phases

  /** Phases 1–4; throws an Error saying which step failed. */
  prepare(): void {
    this.compile();
    this.link();
    this.createStore();
    this.instantiate();
  }

  private compile(): void {
    const w = this.wasmtime;
    const out = new BigUint64Array(1);
    const source = this.start.component;
    if ("bytes" in source) {
      if (source.bytes.length === 0) throw new Error("compile the component: the component is empty");
      this.check(w.wasmtime_component_new(this.engine, ptr(source.bytes), source.bytes.length, ptr(out)), "compile the component");
    } else {
      const what = `load the precompiled component ${source.precompiledFile}`;
      let file: Uint8Array;
      try {
        file = readFileSync(source.precompiledFile);
      } catch (error) {
        throw new Error(`${what}: ${(error as Error).message}`);
      }
      const serialized = unwrapPrecompiled(file, source.precompiledFile);
      this.check(w.wasmtime_component_deserialize(this.engine, ptr(serialized), serialized.length, ptr(out)), what);
    }
    this.component = Number(out[0]) as Pointer;
  }

  private link(): void {
    const w = this.wasmtime;
    const linker = w.wasmtime_component_linker_new(this.engine);
    if (linker === null) throw new Error("wasmtime_component_linker_new failed");
    this.linker = linker;
    this.check(w.wasmtime_component_linker_add_wasip2(linker), "link WASI 0.2");

    const hostCall = new JSCallback((data, _context, funcType, args, argCount, results, resultCount) => this.onHostCall(Number(data) - 1, funcType as Pointer, Number(args), Number(argCount), Number(results), Number(resultCount)), {
      args: ["ptr", "ptr", "ptr", "ptr", "u64", "ptr", "u64"],
      returns: "ptr",
    });
    this.callbacks.push(hostCall);

    // The root instance and each nested one hold the linker exclusively until deleted.
    const root = w.wasmtime_component_linker_root(linker);
    if (root === null) throw new Error("wasmtime_component_linker_root failed");
    try {
      for (const linked of this.start.imports) {
        const name = encoder.encode(linked.interface);
        const out = new BigUint64Array(1);
        this.check(w.wasmtime_component_linker_instance_add_instance(root, ptr(name), name.length, ptr(out)), `link ${linked.interface}`);
        const instance = Number(out[0]) as Pointer;
        try {
          for (const fn of linked.functions) {
            const index = this.functionNames.length;
            this.functionNames.push(`${linked.interface}#${fn}`);
            const fnName = encoder.encode(fn);
            // data = call index + 1: a NULL data pointer would read back as null, not 0.
            this.check(
              w.wasmtime_component_linker_instance_add_func(instance, ptr(fnName), fnName.length, hostCall.ptr, (index + 1) as Pointer, null),
              `link ${linked.interface}#${fn}`,
            );
          }
        } finally {
          w.wasmtime_component_linker_instance_delete(instance);
        }
      }
    } finally {
      w.wasmtime_component_linker_instance_delete(root);
    }
  }

  private createStore(): void {
    const w = this.wasmtime;
    const store = w.wasmtime_store_new(this.engine, null, null);
    if (store === null) throw new Error("wasmtime_store_new failed");
    this.store = store;
    const context = w.wasmtime_store_context(store);
    if (context === null) throw new Error("wasmtime_store_context failed");
    this.context = context;

    // Memories are made at instantiation, on this thread: charged to this guest's budget from here on.
    this.memoryBudget = new GuestMemoryBudget(this.start.memoryLimitBytes);

    // The engine is shared, so an epoch bump may be meant for another guest: the callback checks this
    // guest's flag and either stops it or waits for the next tick.
    const onDeadline = new JSCallback((_context, _data, delta, _kind) => this.onEpochDeadline(Number(delta)), {
      args: ["ptr", "ptr", "ptr", "ptr"],
      returns: "ptr",
    });
    this.callbacks.push(onDeadline);
    w.wasmtime_store_epoch_deadline_callback(store, onDeadline.ptr, null, null);
    w.wasmtime_context_set_epoch_deadline(context, 1);

    const wasi = w.wasi_config_new();
    if (wasi === null) throw new Error("wasi_config_new failed");
    try {
      this.configureWasi(wasi);
    } catch (error) {
      w.wasi_config_delete(wasi);
      throw error;
    }
    // Takes ownership of the config, also when it fails.
    this.check(w.wasmtime_context_set_wasi(context, wasi), "set up WASI");
  }

  /** No args, no stdin, no network, no inherited env: only what the start message grants. */
  private configureWasi(wasi: Pointer): void {
    const w = this.wasmtime;
    const { env, preopens } = this.start;
    if (env.length > 0) {
      const strings = env.flatMap(([name, value]) => [cstring(name), cstring(value)]);
      const names = new BigUint64Array(env.length);
      const values = new BigUint64Array(env.length);
      env.forEach((_entry, i) => {
        names[i] = BigInt(ptr(strings[2 * i]!));
        values[i] = BigInt(ptr(strings[2 * i + 1]!));
      });
      if (!w.wasi_config_set_env(wasi, env.length, ptr(names), ptr(values))) throw new Error("set the guest environment: not valid UTF-8");
    }
    for (const preopen of preopens) {
      if (!w.wasi_config_preopen_dir(wasi, ptr(cstring(preopen.hostPath)), ptr(cstring(preopen.guestPath)), preopen.writable)) {
        throw new Error(`preopen ${preopen.hostPath} as ${preopen.guestPath}: cannot open the directory`);
      }
    }
    // Output goes to pipes the main thread reads (output.ts explains why not the custom-callback API).
    if (!w.wasi_config_set_stdout_file(wasi, ptr(cstring(this.start.output.stdout)))) throw new Error("open the guest's stdout pipe");
    if (!w.wasi_config_set_stderr_file(wasi, ptr(cstring(this.start.output.stderr)))) throw new Error("open the guest's stderr pipe");
  }

  private instantiate(): void {
    const w = this.wasmtime;
    this.check(w.wasmtime_component_linker_instantiate(this.linker, this.context, this.component, ptr(this.instance)), "instantiate the component");

    const runInterface = this.findRunExport();
    const interfaceName = encoder.encode(runInterface);
    const interfaceIndex = w.wasmtime_component_instance_get_export_index(ptr(this.instance), this.context, null, ptr(interfaceName), interfaceName.length);
    if (interfaceIndex === null) throw new Error(`the instance has no export ${runInterface}`);
    try {
      const runName = encoder.encode("run");
      const runIndex = w.wasmtime_component_instance_get_export_index(ptr(this.instance), this.context, interfaceIndex, ptr(runName), runName.length);
      if (runIndex === null) throw new Error(`${runInterface} has no function run`);
      try {
        if (!w.wasmtime_component_instance_get_func(ptr(this.instance), this.context, runIndex, ptr(this.runFunc))) {
          throw new Error(`${runInterface}#run is not a function`);
        }
      } finally {
        w.wasmtime_component_export_index_delete(runIndex);
      }
    } finally {
      w.wasmtime_component_export_index_delete(interfaceIndex);
    }
  }

  /** The component's `wasi:cli/run@0.2.x` export (any 0.2 patch release). */
  private findRunExport(): string {
    const w = this.wasmtime;
    const type = w.wasmtime_component_type(this.component);
    if (type === null) throw new Error("wasmtime_component_type failed");
    const exports: string[] = [];
    try {
      const count = Number(w.wasmtime_component_type_export_count(type, this.engine));
      const nameOut = new BigUint64Array(2);
      const item = new Uint8Array(STRUCT_SIZES.item);
      for (let i = 0; i < count; i++) {
        if (!w.wasmtime_component_type_export_nth(type, this.engine, i, ptr(nameOut), ptr(nameOut, 8), ptr(item))) continue;
        const length = Number(nameOut[1]);
        exports.push(length === 0 ? "" : decoder.decode(new Uint8Array(toArrayBuffer(Number(nameOut[0]) as Pointer, 0, length))));
        w.wasmtime_component_item_delete(ptr(item));
      }
    } finally {
      w.wasmtime_component_type_delete(type);
    }
    const run = exports.find((name) => /^wasi:cli\/run@0\.2\.\d+$/.test(name));
    if (run === undefined) {
      throw new Error(`the component does not export wasi:cli/run@0.2.x: it is not a WASI command (exports: ${exports.join(", ") || "none"})`);
    }
    return run;
  }

  /** Phase 5: calls run and says how it ended. */
  run(): GuestExit {
    return this.blameMemoryLimit(this.callRun());
  }

  /**
   * A guest whose memory limit refused a growth and that then failed ran out of memory: that is the reason
   * to give, not the `unreachable` its allocator executed. A guest that coped with the refusal keeps its exit.
   */
  private blameMemoryLimit(exit: GuestExit): GuestExit {
    const refused = this.memoryBudget?.refusedBytes ?? 0;
    const failed = exit.status === "trap" || exit.status === "returned-err" || (exit.status === "exit" && exit.code !== 0);
    if (refused === 0 || !failed) return exit;
    const limit = this.start.memoryLimitBytes ?? 0;
    return {
      ...exit,
      status: "out-of-memory",
      message: `out of memory: the guest asked for ${mebibytes(refused)} of linear memory, over its limit of ${mebibytes(limit)}, and then failed (${exit.message})`,
    };
  }

  private callRun(): GuestExit {
    const w = this.wasmtime;
    const result = new Uint8Array(VAL_LAYOUT.size);
    const error = w.wasmtime_component_func_call(ptr(this.runFunc), this.context, null, 0, ptr(result), 1);
    if (error !== null) return this.classifyError(error);
    try {
      // run: func() -> result: a RESULT value whose first payload byte is is_ok.
      const ok = read.u8(ptr(result), 0) === ValKind.Result && read.u8(ptr(result), VAL_LAYOUT.payload) !== 0;
      return ok ? { status: "returned-ok", message: "run returned ok" } : { status: "returned-err", message: "run returned err" };
    } finally {
      w.wasmtime_component_val_delete(ptr(result));
    }
  }

  private classifyError(error: Pointer): GuestExit {
    const w = this.wasmtime;
    const status = new Int32Array(1);
    const isExit = w.wasmtime_error_exit_status(error, ptr(status));
    const detail = this.takeErrorMessage(error);
    if (isExit) return { status: "exit", code: status[0]!, message: `the guest exited with code ${status[0]}` };
    if (this.waiter.interruptRequested) return { status: "interrupted", message: "the guest was interrupted", detail };
    if (this.hostFailure !== undefined) return { status: "error", message: this.hostFailure, detail };
    const cause = rootCause(detail);
    return /wasm trap/.test(detail) ? { status: "trap", message: cause, detail } : { status: "error", message: cause, detail };
  }

  /** Frees everything, newest first. Safe after any failed phase. */
  close(): void {
    const w = this.wasmtime;
    if (this.store !== null) w.wasmtime_store_delete(this.store);
    if (this.linker !== null) w.wasmtime_component_linker_delete(this.linker);
    if (this.component !== null) w.wasmtime_component_delete(this.component);
    this.store = this.context = this.linker = this.component = null;
    this.memoryBudget?.release(); // after the store: its memories are gone
    this.memoryBudget = null;
    for (const callback of this.callbacks) callback.close();
    this.callbacks.length = 0;
  }

  // --------------------------------------------------------------------------------------- callbacks

  /**
   * A guest calls a weft:app function: forward it, block until answered, write the results. Returns NULL
   * or a wasmtime_error_t*, which makes the guest trap (a host function never throws into the guest).
   */
  private onHostCall(index: number, funcType: Pointer, args: number, argCount: number, results: number, resultCount: number): Pointer | null {
    const name = this.functionNames[index] ?? `host function ${index}`;
    try {
      let type = this.functionTypes.get(index);
      if (type === undefined) {
        type = this.codec.readFuncType(funcType);
        this.functionTypes.set(index, type);
      }
      const argValues: WitValue[] = [];
      for (let i = 0; i < argCount; i++) argValues.push(this.codec.readVal(args + i * VAL_LAYOUT.size, type.params[i]?.type ?? { kind: "unsupported", name: "?" }));

      if (!this.waiter.begin()) return this.newError("the guest was interrupted");
      post({ type: "call", fn: index, args: argValues });
      const outcome = this.waiter.awaitResponse();
      if (outcome.interrupted) return this.newError("the guest was interrupted");

      const response = decodeResponse(outcome.response);
      if (!response.ok) return this.failCall(response.message);
      const expected = type.result === undefined ? 0 : 1;
      if (response.results.length !== expected || resultCount !== expected) {
        return this.failCall(`host function ${name} returned ${response.results.length} results, its WIT type has ${expected}`);
      }
      if (type.result !== undefined) this.codec.writeVal(results, type.result, response.results[0], "result");
      return null;
    } catch (error) {
      return this.failCall(`host function ${name}: ${(error as Error).message}`);
    }
  }

  private failCall(message: string): Pointer {
    this.hostFailure ??= message;
    return this.newError(message);
  }

  private newError(message: string): Pointer {
    const error = this.wasmtime.wasmtime_error_new(ptr(cstring(message)));
    if (error === null) throw new Error("wasmtime_error_new returned NULL");
    return error;
  }

  /** The epoch passed this store's deadline: stop if interrupted, else wait for the next tick. */
  private onEpochDeadline(delta: number): Pointer | null {
    if (this.waiter.interruptRequested) return this.newError("the guest was interrupted");
    new DataView(toArrayBuffer(delta as Pointer, 0, 8)).setBigUint64(0, 1n, true);
    return null;
  }

  // --------------------------------------------------------------------------------------- errors

  /** Throws an Error("<what>: <Wasmtime's message>") for a non-NULL wasmtime_error_t*, which it frees. */
  private check(error: Pointer | null, what: string): void {
    if (error === null) return;
    throw new Error(`${what}: ${errorChain(this.takeErrorMessage(error))}`);
  }

  private takeErrorMessage(error: Pointer): string {
    return takeErrorMessage(this.wasmtime, error);
  }
}

/** compile → serialize → wrap with a digest (precompiled.ts). */
function precompile(job: PrecompileMessage): Uint8Array {
  const w = loadWasmtime(job.libraryPath);
  const engine = job.engine as Pointer;
  if (job.bytes.length === 0) throw new Error("compile the component: the component is empty");
  const out = new BigUint64Array(1);
  const compileError = w.wasmtime_component_new(engine, ptr(job.bytes), job.bytes.length, ptr(out));
  if (compileError !== null) throw new Error(`compile the component: ${errorChain(takeErrorMessage(w, compileError))}`);
  const component = Number(out[0]) as Pointer;
  try {
    const vec = new BigUint64Array(2); // wasm_byte_vec_t: size_t size, u8* data
    const serializeError = w.wasmtime_component_serialize(component, ptr(vec));
    if (serializeError !== null) throw new Error(`serialize the component: ${errorChain(takeErrorMessage(w, serializeError))}`);
    try {
      return wrapPrecompiled(new Uint8Array(toArrayBuffer(Number(vec[1]) as Pointer, 0, Number(vec[0]))));
    } finally {
      w.wasm_byte_vec_delete(ptr(vec));
    }
  } finally {
    w.wasmtime_component_delete(component);
  }
}

self.onmessage = (event: MessageEvent<StartMessage | PrecompileMessage>) => {
  if (event.data.type === "precompile") {
    try {
      const bytes = precompile(event.data);
      post({ type: "precompiled", bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (error) {
      post({ type: "failed", message: (error as Error).message });
    }
    return;
  }
  const guest = new GuestInstance(event.data);
  let exit: GuestExit;
  try {
    guest.prepare();
  } catch (error) {
    guest.close();
    post({ type: "failed", message: (error as Error).message });
    return;
  }
  post({ type: "ready" });
  try {
    exit = guest.run();
  } catch (error) {
    exit = { status: "error", message: `the guest worker failed: ${(error as Error).message}` };
  }
  guest.close();
  post({ type: "exit", exit });
};
