/**
 * Guest linear memories with a limit that can say it was hit: libweft-guest-memory.so (native/guest-memory), a
 * Wasmtime memory creator built by scripts/setup.sh.
 *
 *   main thread   useGuestMemoryCreator(wasmtime, config)  → every engine of that library makes memories there
 *   guest worker  new GuestMemoryBudget(limit)              → memories this worker instantiates are charged to it
 *                 budget.refusedBytes                       → after the run: the largest growth the limit refused
 *
 * Both threads dlopen the same file, so they share one copy of the library: the one the engine calls into, which
 * knows each thread's budget.
 */

import { dlopen, FFIType, type Pointer, ptr } from "bun:ffi";
import { join } from "node:path";
import type { WasmtimeSymbols } from "./library.ts";

/** The C source (layout.test.ts compiles it against the Wasmtime headers). */
export const GUEST_MEMORY_SOURCE = join(import.meta.dir, "../../../native/guest-memory/guest-memory.c");

/** Where scripts/setup.sh builds the library. */
export const GUEST_MEMORY_LIBRARY = join(import.meta.dir, "../../../native/guest-memory/target/libweft-guest-memory.so");

/** sizeof(wasmtime_memory_creator_t): three pointers (layout.test.ts checks it against the header). */
export const MEMORY_CREATOR_SIZE = 24;

const { ptr: pointer, u64, void: none } = FFIType;

const symbols = {
  weft_guest_memory_creator: { args: [pointer, pointer], returns: none },
  weft_guest_memory_bind: { args: [u64], returns: pointer },
  weft_guest_memory_refused: { args: [pointer], returns: u64 },
  weft_guest_memory_release: { args: [pointer], returns: none },
} as const;

let loaded: ReturnType<typeof dlopen<typeof symbols>>["symbols"] | undefined;

function library() {
  if (loaded === undefined) {
    try {
      loaded = dlopen(GUEST_MEMORY_LIBRARY, symbols).symbols;
    } catch (error) {
      throw new Error(`cannot load ${GUEST_MEMORY_LIBRARY} (build it with scripts/setup.sh): ${(error as Error).message}`);
    }
  }
  return loaded;
}

/** Makes every engine built from `config` create its guests' memories here. Before the engine is made. */
export function useGuestMemoryCreator(wasmtime: WasmtimeSymbols, config: Pointer): void {
  const creator = new Uint8Array(MEMORY_CREATOR_SIZE);
  // Errors go back to the library that made the engine: its own wasmtime_error_new.
  // (bun:ffi gives each bound symbol its address as `.ptr`; the symbol table's type does not say so.)
  const errorNew = (wasmtime.wasmtime_error_new as unknown as { ptr: Pointer }).ptr;
  library().weft_guest_memory_creator(ptr(creator), errorNew);
  wasmtime.wasmtime_config_host_memory_creator_set(config, ptr(creator)); // copies the struct
  // Copy-on-write images of the initial data work only with Wasmtime's own mmap memories (with a creator,
  // instantiation panics in Wasmtime 48): data segments are copied in instead, a fraction of a millisecond.
  wasmtime.wasmtime_config_memory_init_cow_set(config, false);
}

/** One guest's budget, on its worker thread: from construction on, the memories it instantiates are charged to it. */
export class GuestMemoryBudget {
  #budget: Pointer | null;
  #refusedAtRelease = 0;

  /** `limitBytes` per linear memory; undefined: no limit. */
  constructor(limitBytes: number | undefined) {
    this.#budget = library().weft_guest_memory_bind(limitBytes === undefined ? 0xffff_ffff_ffff_ffffn : BigInt(limitBytes)) as Pointer | null;
    if (this.#budget === null) throw new Error("cannot allocate the guest's memory budget");
  }

  /** The largest size, in bytes, a linear memory asked for and the limit refused; 0 when none was. */
  get refusedBytes(): number {
    return this.#budget === null ? this.#refusedAtRelease : Number(library().weft_guest_memory_refused(this.#budget));
  }

  /** Call once the store is deleted (no memory charged to the budget is left). */
  release(): void {
    if (this.#budget === null) return;
    this.#refusedAtRelease = this.refusedBytes;
    library().weft_guest_memory_release(this.#budget);
    this.#budget = null;
  }
}
