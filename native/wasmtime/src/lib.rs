//! Re-exports the Wasmtime C API so that this cdylib exports its `wasm_*`, `wasi_*` and `wasmtime_*`
//! symbols; weft-runtime loads the result (`libwasmtime.so`) with bun:ffi.
pub use wasmtime_c_api::*;
