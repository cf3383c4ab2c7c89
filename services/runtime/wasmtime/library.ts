/**
 * The Wasmtime C API (libwasmtime.so, built from native/wasmtime: `wasmtime-c-api-impl` =48.0.8), loaded with
 * bun:ffi. Both threads load it: the guest worker for everything that runs a component, the main thread for
 * the engine it shares with every worker, `wasmtime_engine_increment_epoch` and precompilation. dlopen of the
 * same path returns the same handle, so both see the same engine objects.
 *
 * Signatures are copied from the 48.0.8 headers (wasmtime/*.h, wasmtime/component/*.h, wasi.h). bun:ffi cannot
 * check them: a wrong one is memory corruption, so change them only against the headers. `usize`/`size_t`
 * is u64 (x86_64 and aarch64 only), out-parameters are `ptr` to memory the caller owns.
 */

import { dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { join } from "node:path";

const { ptr: pointer, u64, i64, bool, u8, void: none, cstring } = FFIType;

/** The Wasmtime release the bindings mirror; native/wasmtime/Cargo.toml pins the same one. */
export const WASMTIME_VERSION = "48.0.8";

/** Default library location: $WEFT_WASMTIME_LIB, else the cargo build output inside the repository. */
export function resolveLibraryPath(libraryPath?: string): string {
  return libraryPath ?? process.env.WEFT_WASMTIME_LIB ?? join(import.meta.dir, "../../../native/wasmtime/target/release/libwasmtime.so");
}

/*
 * Sizes of the C structs the bindings allocate themselves (x86_64/aarch64; layout.test.ts compiles the
 * headers and checks every one). values.ts draws wasmtime_component_val_t and its payloads.
 *
 *   wasmtime_component_instance_t  16  u64 store_id | u32 index | 4 padding
 *   wasmtime_component_func_t      24  { u64 store_id | u32 instance } (an inner struct, 16 with padding)
 *                                      | u32 export index | 4 padding
 *   wasmtime_component_item_t      24  u8 kind | 7 padding | union: a pointer, or a 16-byte valtype inline
 *   wasmtime_component_valtype_t   16  u8 kind | 7 padding | pointer to the boxed compound type
 *   wasm_name_t / wasm_byte_vec_t  16  size_t size | u8* data
 */
export const STRUCT_SIZES = {
  instance: 16,
  func: 24,
  item: 24,
  valtype: 16,
  name: 16,
} as const;

const symbols = {
  // --- engine and its configuration (wasm.h, wasmtime/config.h, wasmtime/engine.h)
  wasm_config_new: { args: [], returns: pointer },
  wasmtime_config_strategy_set: { args: [pointer, u8], returns: none },
  wasmtime_config_cranelift_opt_level_set: { args: [pointer, u8], returns: none },
  wasmtime_config_epoch_interruption_set: { args: [pointer, bool], returns: none },
  wasmtime_config_consume_fuel_set: { args: [pointer, bool], returns: none },
  wasmtime_config_max_wasm_stack_set: { args: [pointer, u64], returns: none },
  wasmtime_config_signals_based_traps_set: { args: [pointer, bool], returns: none },
  wasmtime_config_wasm_component_model_set: { args: [pointer, bool], returns: none },
  wasmtime_config_parallel_compilation_set: { args: [pointer, bool], returns: none },
  wasmtime_config_host_memory_creator_set: { args: [pointer, pointer], returns: none },
  wasmtime_config_memory_init_cow_set: { args: [pointer, bool], returns: none },
  wasm_engine_new_with_config: { args: [pointer], returns: pointer },
  wasm_engine_delete: { args: [pointer], returns: none },
  wasmtime_engine_increment_epoch: { args: [pointer], returns: none },

  // --- errors and byte vectors (wasmtime/error.h, wasm.h)
  wasmtime_error_new: { args: [cstring], returns: pointer },
  wasmtime_error_message: { args: [pointer, pointer], returns: none },
  wasmtime_error_exit_status: { args: [pointer, pointer], returns: bool },
  wasmtime_error_delete: { args: [pointer], returns: none },
  wasm_byte_vec_new: { args: [pointer, u64, pointer], returns: none },
  wasm_byte_vec_delete: { args: [pointer], returns: none },

  // --- components (wasmtime/component/component.h)
  wasmtime_component_new: { args: [pointer, pointer, u64, pointer], returns: pointer },
  wasmtime_component_serialize: { args: [pointer, pointer], returns: pointer },
  wasmtime_component_deserialize: { args: [pointer, pointer, u64, pointer], returns: pointer },
  wasmtime_component_deserialize_file: { args: [pointer, cstring, pointer], returns: pointer },
  wasmtime_component_delete: { args: [pointer], returns: none },
  wasmtime_component_get_export_index: { args: [pointer, pointer, pointer, u64], returns: pointer },
  wasmtime_component_export_index_delete: { args: [pointer], returns: none },
  wasmtime_component_type: { args: [pointer], returns: pointer },
  wasmtime_component_type_delete: { args: [pointer], returns: none },
  wasmtime_component_type_export_count: { args: [pointer, pointer], returns: u64 },
  wasmtime_component_type_export_nth: { args: [pointer, pointer, u64, pointer, pointer, pointer], returns: bool },
  wasmtime_component_item_delete: { args: [pointer], returns: none },

  // --- store (wasmtime/store.h)
  wasmtime_store_new: { args: [pointer, pointer, pointer], returns: pointer },
  wasmtime_store_context: { args: [pointer], returns: pointer },
  wasmtime_store_delete: { args: [pointer], returns: none },
  wasmtime_store_limiter: { args: [pointer, i64, i64, i64, i64, i64], returns: none },
  wasmtime_store_epoch_deadline_callback: { args: [pointer, pointer, pointer, pointer], returns: none },
  wasmtime_context_set_epoch_deadline: { args: [pointer, u64], returns: none },
  wasmtime_context_set_wasi: { args: [pointer, pointer], returns: pointer },

  // --- WASI configuration (wasi.h); the store takes ownership through wasmtime_context_set_wasi
  wasi_config_new: { args: [], returns: pointer },
  wasi_config_delete: { args: [pointer], returns: none },
  wasi_config_set_env: { args: [pointer, u64, pointer, pointer], returns: bool },
  wasi_config_preopen_dir: { args: [pointer, cstring, cstring, bool], returns: bool },
  wasi_config_set_stdout_file: { args: [pointer, cstring], returns: bool },
  wasi_config_set_stderr_file: { args: [pointer, cstring], returns: bool },

  // --- linker and instances (wasmtime/component/linker.h, instance.h, func.h)
  wasmtime_component_linker_new: { args: [pointer], returns: pointer },
  wasmtime_component_linker_delete: { args: [pointer], returns: none },
  wasmtime_component_linker_root: { args: [pointer], returns: pointer },
  wasmtime_component_linker_add_wasip2: { args: [pointer], returns: pointer },
  wasmtime_component_linker_instance_add_instance: { args: [pointer, pointer, u64, pointer], returns: pointer },
  wasmtime_component_linker_instance_add_func: { args: [pointer, pointer, u64, pointer, pointer, pointer], returns: pointer },
  wasmtime_component_linker_instance_delete: { args: [pointer], returns: none },
  wasmtime_component_linker_instantiate: { args: [pointer, pointer, pointer, pointer], returns: pointer },
  wasmtime_component_instance_get_export_index: { args: [pointer, pointer, pointer, pointer, u64], returns: pointer },
  wasmtime_component_instance_get_func: { args: [pointer, pointer, pointer, pointer], returns: bool },
  wasmtime_component_func_call: { args: [pointer, pointer, pointer, u64, pointer, u64], returns: pointer },

  // --- values (wasmtime/component/val.h): see values.ts for their layout
  wasmtime_component_val_new: { args: [pointer], returns: pointer },
  wasmtime_component_val_delete: { args: [pointer], returns: none },
  wasmtime_component_vallist_new_uninit: { args: [pointer, u64], returns: none },
  wasmtime_component_valrecord_new_uninit: { args: [pointer, u64], returns: none },
  wasmtime_component_valtuple_new_uninit: { args: [pointer, u64], returns: none },
  wasmtime_component_valflags_new_uninit: { args: [pointer, u64], returns: none },

  // --- types (wasmtime/component/types/func.h, types/val.h), read once per host function
  wasmtime_component_func_type_param_count: { args: [pointer], returns: u64 },
  wasmtime_component_func_type_param_nth: { args: [pointer, u64, pointer, pointer, pointer], returns: bool },
  wasmtime_component_func_type_result: { args: [pointer, pointer], returns: bool },
  wasmtime_component_valtype_delete: { args: [pointer], returns: none },
  wasmtime_component_list_type_element: { args: [pointer, pointer], returns: none },
  wasmtime_component_record_type_field_count: { args: [pointer], returns: u64 },
  wasmtime_component_record_type_field_nth: { args: [pointer, u64, pointer, pointer, pointer], returns: bool },
  wasmtime_component_tuple_type_types_count: { args: [pointer], returns: u64 },
  wasmtime_component_tuple_type_types_nth: { args: [pointer, u64, pointer], returns: bool },
  wasmtime_component_variant_type_case_count: { args: [pointer], returns: u64 },
  wasmtime_component_variant_type_case_nth: { args: [pointer, u64, pointer, pointer, pointer, pointer], returns: bool },
  wasmtime_component_enum_type_names_count: { args: [pointer], returns: u64 },
  wasmtime_component_enum_type_names_nth: { args: [pointer, u64, pointer, pointer], returns: bool },
  wasmtime_component_option_type_ty: { args: [pointer, pointer], returns: none },
  wasmtime_component_result_type_ok: { args: [pointer, pointer], returns: bool },
  wasmtime_component_result_type_err: { args: [pointer, pointer], returns: bool },
  wasmtime_component_flags_type_names_count: { args: [pointer], returns: u64 },
  wasmtime_component_flags_type_names_nth: { args: [pointer, u64, pointer, pointer], returns: bool },
} as const;

type RawSymbols = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

/**
 * The symbols, with pointer results typed `Pointer | null`: bun-types allows a bigint for pointers that do
 * not fit in a double, which user-space addresses on x86_64/aarch64 (47/48 bits) always do.
 */
export type WasmtimeSymbols = {
  [K in keyof RawSymbols]: RawSymbols[K] extends (...args: infer A) => infer R
    ? (...args: A) => Pointer extends R ? Exclude<R, bigint> : R
    : RawSymbols[K];
};

const loaded = new Map<string, WasmtimeSymbols>();

/** Loads (once per path and thread) the library; the error names the path and how to build it. */
export function loadWasmtime(libraryPath?: string): WasmtimeSymbols {
  const path = resolveLibraryPath(libraryPath);
  let library = loaded.get(path);
  if (library === undefined) {
    try {
      library = dlopen(path, symbols).symbols as unknown as WasmtimeSymbols;
    } catch (error) {
      throw new Error(
        `cannot load the Wasmtime C API from ${path}: ${(error as Error).message} ` +
          "(build it with `cargo build --release` in native/wasmtime, or point WEFT_WASMTIME_LIB at a libwasmtime.so)",
      );
    }
    loaded.set(path, library);
  }
  return library;
}

/** The text of a wasmtime_error_t*, which it frees (the error must not be used afterwards). */
export function takeErrorMessage(wasmtime: WasmtimeSymbols, error: Pointer): string {
  const name = new BigUint64Array(2); // wasm_name_t: size_t size, u8* data
  wasmtime.wasmtime_error_message(error, ptr(name));
  const length = Number(name[0]);
  const text = length === 0 ? "" : new TextDecoder().decode(new Uint8Array(toArrayBuffer(Number(name[1]) as Pointer, 0, length)));
  wasmtime.wasm_byte_vec_delete(ptr(name));
  wasmtime.wasmtime_error_delete(error);
  return text;
}

/**
 * The readable part of Wasmtime's error text. Errors print in anyhow's debug format: the outermost context,
 * maybe a wasm backtrace, then "Caused by:" and the chain; the root cause says what happened
 * ("wasm trap: wasm `unreachable` instruction executed").
 */
export function rootCause(text: string): string {
  const marker = text.lastIndexOf("Caused by:");
  if (marker === -1) return text.split("\n")[0]!.trim();
  const causes = text
    .slice(marker + "Caused by:".length)
    .split("\n")
    .map((line) => line.trim().replace(/^\d+:\s*/, ""))
    .filter((line) => line.length > 0);
  return causes[causes.length - 1] ?? text.trim();
}

/** The whole chain of Wasmtime's error text on one line, backtrace left out: "context: cause: root cause". */
export function errorChain(text: string): string {
  const marker = text.indexOf("Caused by:");
  const head = (marker === -1 ? text : text.slice(0, marker)).split("\n")[0]!.trim();
  if (marker === -1) return head;
  const causes = text
    .slice(marker + "Caused by:".length)
    .split("\n")
    .map((line) => line.trim().replace(/^\d+:\s*/, ""))
    .filter((line) => line.length > 0);
  return [head, ...causes].join(": ");
}
