/**
 * The Wasmtime engine: one per library (and stack limit) per process, made on the main thread and shared by
 * every guest worker through its pointer. Sharing lets precompiled components, compiled once with
 * `precompileComponent`, load into any guest, and keeps `interrupt()` a plain call on the main thread: the
 * engine outlives every worker (it is never deleted), so the epoch can be bumped without racing a teardown.
 *
 * Engine configuration, and why:
 *   Cranelift, opt level "speed"    the default compiler; precompile once at install, load fast at launch
 *   component model                 apps are WASI 0.2 components
 *   epoch interruption             `interrupt()` bumps the epoch; each store's deadline callback decides
 *                                   whether the bump was meant for it (the engine is shared)
 *   no fuel                         epochs cost less and are enough to stop a runaway guest
 *   max wasm stack 512 KiB          Wasmtime's default; `maxWasmStackBytes` may raise it to 2 MiB, Wasmtime's
 *                                   async_stack_size (above that, engine creation panics and aborts the
 *                                   process). Even 2 MiB of wasm frames plus the host-call path (JSCallback,
 *                                   JS, Atomics.wait) fit in a Bun worker's native stack: the deep-host-call
 *                                   test in guest.test.ts
 *   signals-based traps             kept on: Wasmtime's SIGSEGV/SIGILL handlers and JavaScriptCore's coexist
 *                                   (Wasmtime handles faults in wasm code and forwards the rest), shown by
 *                                   the trap tests in guest.test.ts
 */

import type { Pointer } from "bun:ffi";
import { arch } from "node:os";
import { useGuestMemoryCreator } from "./guest-memory.ts";
import { loadWasmtime, resolveLibraryPath, WASMTIME_VERSION } from "./library.ts";

const WASMTIME_STRATEGY_CRANELIFT = 1;
const WASMTIME_OPT_LEVEL_SPEED = 1;

/** Default and bounds of `maxWasmStackBytes`. */
export const DEFAULT_MAX_WASM_STACK_BYTES = 512 * 1024;
export const MAX_MAX_WASM_STACK_BYTES = 2 * 1024 * 1024;

/** The engine-wide settings that change compiled code; precompiled artifacts must agree on all of them. */
const COMPILED_CODE_SETTINGS = ["cranelift", "opt=speed", "component-model", "epoch-interruption", "no-fuel", "signals-based-traps"];

export interface EngineOptions {
  readonly libraryPath?: string;
  readonly maxWasmStackBytes?: number;
}

const engines = new Map<string, Pointer>();

/** The shared engine for these options, made on first use. Main thread only. */
export function sharedEngine(options: EngineOptions = {}): Pointer {
  const libraryPath = resolveLibraryPath(options.libraryPath);
  const maxWasmStackBytes = options.maxWasmStackBytes ?? DEFAULT_MAX_WASM_STACK_BYTES;
  if (!Number.isInteger(maxWasmStackBytes) || maxWasmStackBytes < 64 * 1024 || maxWasmStackBytes > MAX_MAX_WASM_STACK_BYTES) {
    throw new RangeError(`maxWasmStackBytes must be an integer between 65536 and ${MAX_MAX_WASM_STACK_BYTES}, got ${maxWasmStackBytes}`);
  }
  const key = `${libraryPath}\0${maxWasmStackBytes}`;
  let engine = engines.get(key);
  if (engine === undefined) {
    const wasmtime = loadWasmtime(libraryPath);
    const config = wasmtime.wasm_config_new();
    if (config === null) throw new Error("wasm_config_new failed");
    wasmtime.wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
    wasmtime.wasmtime_config_cranelift_opt_level_set(config, WASMTIME_OPT_LEVEL_SPEED);
    wasmtime.wasmtime_config_wasm_component_model_set(config, true);
    wasmtime.wasmtime_config_epoch_interruption_set(config, true);
    wasmtime.wasmtime_config_consume_fuel_set(config, false);
    wasmtime.wasmtime_config_signals_based_traps_set(config, true);
    wasmtime.wasmtime_config_parallel_compilation_set(config, true);
    wasmtime.wasmtime_config_max_wasm_stack_set(config, maxWasmStackBytes);
    useGuestMemoryCreator(wasmtime, config);
    // Takes ownership of the config, also on failure.
    const made = wasmtime.wasm_engine_new_with_config(config);
    if (made === null) throw new Error(`wasm_engine_new_with_config failed (library ${libraryPath})`);
    engine = made;
    engines.set(key, engine);
  }
  return engine;
}

/**
 * Identifies what a precompiled component depends on: the Wasmtime release, the target and the settings that
 * change compiled code. Use it with the component's digest as a cache key; Wasmtime itself still refuses an
 * artifact compiled differently, with an error.
 */
export function engineFingerprint(_options: { libraryPath?: string } = {}): string {
  return [`wasmtime-${WASMTIME_VERSION}`, `${arch()}-linux`, ...COMPILED_CODE_SETTINGS].join(";");
}
