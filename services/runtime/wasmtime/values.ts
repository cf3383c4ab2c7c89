/**
 * WIT values as JavaScript (`WitValue`) and their conversion to and from Wasmtime's C representation
 * (`wasmtime_component_val_t`), for host-function arguments and results. Worker thread only: it reads and
 * writes memory Wasmtime owns.
 *
 * JavaScript representation, by WIT type (readers produce exactly this; writers also accept what is marked *):
 *
 *   bool                          boolean
 *   s8 u8 s16 u16 s32 u32         number (an integer in range)
 *   s64 u64                       bigint                      * a safe-integer number
 *   f32 f64                       number
 *   char                          string of one code point
 *   string                        string (UTF-8 on the wire; lone surrogates become U+FFFD)
 *   list<u8>                      Uint8Array                  * number[]
 *   list<T>, tuple<…>             WitValue[]
 *   record                        { [field]: WitValue }, keys spelled as in WIT (`content-type`)
 *   variant                       { tag: "case", val?: WitValue } (val present iff the case has a payload)
 *   enum                          string (the case name)
 *   option<T>                     { tag: "some", val } | { tag: "none" }
 *   result<T, E>                  { tag: "ok", val? } | { tag: "err", val? } (val iff that side has a type)
 *   flags                         string[] of the flags that are set (readers: in declaration order)
 *   resource, future, stream, map unsupported: a function using them cannot be provided by the host
 *
 * Options and results are tagged objects, never null/undefined, so option<option<T>> and result<_, E> stay
 * unambiguous. Writers check values against the function's WIT type and throw `WitValueError` naming the path
 * (`result.ok.body[3]: expected u8, got 300`).
 */

import { type Pointer, ptr, read, toArrayBuffer } from "bun:ffi";
import { STRUCT_SIZES, type WasmtimeSymbols } from "./library.ts";

/** A WIT value as JavaScript; see the table above. */
export type WitValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | WitValue[]
  | { tag: "some"; val: WitValue }
  | { tag: "none" }
  | { tag: "ok"; val?: WitValue }
  | { tag: "err"; val?: WitValue }
  | { tag: string; val?: WitValue }
  | { [field: string]: WitValue };

/** A WIT type as read from Wasmtime's function types: just enough to convert values. */
export type WitType =
  | { kind: "bool" | "s8" | "u8" | "s16" | "u16" | "s32" | "u32" | "s64" | "u64" | "f32" | "f64" | "char" | "string" }
  | { kind: "list"; element: WitType }
  | { kind: "record"; fields: { name: string; nameBytes: Uint8Array; type: WitType }[] }
  | { kind: "tuple"; types: WitType[] }
  | { kind: "variant"; cases: { name: string; nameBytes: Uint8Array; type?: WitType }[] }
  | { kind: "enum"; names: string[] }
  | { kind: "option"; type: WitType }
  | { kind: "result"; ok?: WitType; err?: WitType }
  | { kind: "flags"; names: string[] }
  | { kind: "unsupported"; name: string };

/** A component function's parameters and (at most one) result. */
export interface WitFuncType {
  params: { name: string; type: WitType }[];
  result?: WitType;
}

/** A value that does not match the WIT type it must be converted to. */
export class WitValueError extends TypeError {
  override name = "WitValueError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/*
 * wasmtime_component_val_t, 32 bytes, 8-aligned (Rust `#[repr(C, u8)] enum`, src/component/val.rs):
 *
 *   0        1               8                       16                      24                     32
 *   +--------+---------------+-----------------------+-----------------------+----------------------+
 *   | kind   | padding       | payload (union `of`, 24 bytes, by kind):                             |
 *   +--------+---------------+-----------------------+-----------------------+----------------------+
 *     BOOL S8 U8             | 1 byte                                                               |
 *     S16 U16                | 2 bytes LE                                                           |
 *     S32 U32 F32 CHAR       | 4 bytes LE (CHAR: Unicode scalar value)                              |
 *     S64 U64 F64            | 8 bytes LE                                                           |
 *     STRING ENUM            | size_t len            | u8* data (UTF-8)      |                      |
 *     LIST TUPLE             | size_t count          | val_t* elements       |  → count × 32 bytes  |
 *     RECORD                 | size_t count          | entry* entries        |  → count × 48 bytes  |
 *     FLAGS                  | size_t count          | wasm_name_t* names    |  → count × 16 bytes  |
 *     VARIANT                | size_t name len       | u8* name data         | val_t* payload|NULL  |
 *     OPTION                 | val_t* some|NULL      |                                              |
 *     RESULT                 | bool is_ok (1 byte)   | val_t* payload|NULL   |                      |
 *
 *   record entry (48 bytes):  0 size_t name len | 8 u8* name data | 16 val_t value (32 bytes)
 *   wasm_name_t (16 bytes):   0 size_t len      | 8 u8* data
 *
 * Ownership: every pointer above is a Rust allocation that `wasmtime_component_val_delete` frees recursively.
 * Arguments of a host call belong to Wasmtime (read, never free). Result slots arrive as `bool false` (which
 * owns nothing) and Wasmtime drops whatever the callback leaves in them, also when the callback fails. So
 * results are built only with Wasmtime's allocators (wasm_byte_vec_new, *_new_uninit, val_new), and a slot's
 * pointers are made valid before its kind byte says they exist: a half-written result is still a well-formed
 * tree that Wasmtime can free.
 */
export const VAL_LAYOUT = {
  size: 32,
  /** Offset of the payload union. */
  payload: 8,
  recordEntrySize: 48,
  /** Offset of the value in a record entry. */
  recordEntryValue: 16,
  /** Offset of the payload pointer in the VARIANT payload, and of the value pointer in the RESULT one. */
  variantPayload: 16,
  resultPayload: 8,
} as const;
const VAL_SIZE = VAL_LAYOUT.size;
const PAYLOAD = VAL_LAYOUT.payload;
const RECORD_ENTRY_SIZE = VAL_LAYOUT.recordEntrySize;
const NAME_SIZE = STRUCT_SIZES.name;

/** WASMTIME_COMPONENT_* value kinds (val.h). */
export const ValKind = {
  Bool: 0, S8: 1, U8: 2, S16: 3, U16: 4, S32: 5, U32: 6, S64: 7, U64: 8, F32: 9, F64: 10,
  Char: 11, String: 12, List: 13, Record: 14, Tuple: 15, Variant: 16, Enum: 17, Option: 18,
  Result: 19, Flags: 20, Resource: 21, Map: 22,
} as const;

/*
 * wasmtime_component_valtype_t, 16 bytes: 0 u8 kind | 8 pointer to the boxed compound type (LIST…MAP kinds).
 * Note the kind numbering differs from values' (S16 = 2 here, U8 = 5). Every valtype an accessor writes out
 * is owned by the caller: `wasmtime_component_valtype_delete` after reading.
 */
const VALTYPE_SIZE = STRUCT_SIZES.valtype;
export const PRIMITIVE_TYPES = ["bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string"] as const;
export const COMPOUND_TYPES = ["list", "record", "tuple", "variant", "enum", "option", "result", "flags", "own", "borrow", "future", "stream", "error-context", "map", "fixed-length-list"];

/** Reads Wasmtime's values and types, and builds results, with one library's symbols. */
export class ValueCodec {
  /** A `bool false` value that wasmtime_component_val_new moves onto the heap (and writes back). */
  private readonly boxSeed = new Uint8Array(VAL_SIZE);

  constructor(private readonly wasmtime: WasmtimeSymbols) {}

  // ------------------------------------------------------------------------------------------- types

  /** The parameters and result of the function type Wasmtime passes to a host callback (borrowed). */
  readFuncType(funcType: Pointer): WitFuncType {
    const w = this.wasmtime;
    const params: WitFuncType["params"] = [];
    const count = Number(w.wasmtime_component_func_type_param_count(funcType));
    const nameOut = new BigUint64Array(2);
    for (let i = 0; i < count; i++) {
      const type = this.takeValType((out) => w.wasmtime_component_func_type_param_nth(funcType, i, ptr(nameOut), ptr(nameOut, 8), out));
      params.push({ name: this.readNameOut(nameOut), type: type ?? { kind: "unsupported", name: "missing parameter type" } });
    }
    const result = this.takeValType((out) => w.wasmtime_component_func_type_result(funcType, out));
    return result === undefined ? { params } : { params, result };
  }

  /** Calls `fill` with a fresh valtype out-parameter; when it reports success, reads and deletes the type. */
  private takeValType(fill: (out: Pointer) => boolean): WitType | undefined {
    const slot = new Uint8Array(VALTYPE_SIZE);
    const at = ptr(slot);
    if (!fill(at)) return undefined;
    try {
      return this.readValType(at);
    } finally {
      this.wasmtime.wasmtime_component_valtype_delete(at);
    }
  }

  private readNameOut(nameOut: BigUint64Array): string {
    return readUtf8(Number(nameOut[0]), Number(nameOut[1]));
  }

  private readValType(at: Pointer): WitType {
    const w = this.wasmtime;
    const kind = read.u8(at, 0);
    if (kind < PRIMITIVE_TYPES.length) return { kind: PRIMITIVE_TYPES[kind]! };
    const boxed = read.ptr(at, 8) as Pointer;
    const nameOut = new BigUint64Array(2);
    const sub = (fill: (out: Pointer) => boolean): WitType => this.takeValType(fill) ?? { kind: "unsupported", name: "missing type" };
    const compound = COMPOUND_TYPES[kind - PRIMITIVE_TYPES.length];
    switch (compound) {
      case "list":
        return { kind: "list", element: sub((out) => (w.wasmtime_component_list_type_element(boxed, out), true)) };
      case "record": {
        const fields = [];
        const count = Number(w.wasmtime_component_record_type_field_count(boxed));
        for (let i = 0; i < count; i++) {
          const type = sub((out) => w.wasmtime_component_record_type_field_nth(boxed, i, ptr(nameOut), ptr(nameOut, 8), out));
          const name = this.readNameOut(nameOut);
          fields.push({ name, nameBytes: encoder.encode(name), type });
        }
        return { kind: "record", fields };
      }
      case "tuple": {
        const types = [];
        const count = Number(w.wasmtime_component_tuple_type_types_count(boxed));
        for (let i = 0; i < count; i++) types.push(sub((out) => w.wasmtime_component_tuple_type_types_nth(boxed, i, out)));
        return { kind: "tuple", types };
      }
      case "variant": {
        const cases = [];
        const count = Number(w.wasmtime_component_variant_type_case_count(boxed));
        const hasPayload = new Uint8Array(1);
        for (let i = 0; i < count; i++) {
          const slot = new Uint8Array(VALTYPE_SIZE);
          if (!w.wasmtime_component_variant_type_case_nth(boxed, i, ptr(nameOut), ptr(nameOut, 8), ptr(hasPayload), ptr(slot))) continue;
          const name = this.readNameOut(nameOut);
          if (hasPayload[0] === 0) {
            cases.push({ name, nameBytes: encoder.encode(name) });
          } else {
            try {
              cases.push({ name, nameBytes: encoder.encode(name), type: this.readValType(ptr(slot)) });
            } finally {
              w.wasmtime_component_valtype_delete(ptr(slot));
            }
          }
        }
        return { kind: "variant", cases };
      }
      case "enum":
      case "flags": {
        const names = [];
        const isEnum = compound === "enum";
        const count = Number(isEnum ? w.wasmtime_component_enum_type_names_count(boxed) : w.wasmtime_component_flags_type_names_count(boxed));
        for (let i = 0; i < count; i++) {
          const ok = isEnum
            ? w.wasmtime_component_enum_type_names_nth(boxed, i, ptr(nameOut), ptr(nameOut, 8))
            : w.wasmtime_component_flags_type_names_nth(boxed, i, ptr(nameOut), ptr(nameOut, 8));
          if (ok) names.push(this.readNameOut(nameOut));
        }
        return isEnum ? { kind: "enum", names } : { kind: "flags", names };
      }
      case "option":
        return { kind: "option", type: sub((out) => (w.wasmtime_component_option_type_ty(boxed, out), true)) };
      case "result": {
        const ok = this.takeValType((out) => w.wasmtime_component_result_type_ok(boxed, out));
        const err = this.takeValType((out) => w.wasmtime_component_result_type_err(boxed, out));
        return { kind: "result", ...(ok === undefined ? {} : { ok }), ...(err === undefined ? {} : { err }) };
      }
      default:
        return { kind: "unsupported", name: compound ?? `type kind ${kind}` };
    }
  }

  // ------------------------------------------------------------------------------------------ reading

  /** The value at `at` (a wasmtime_component_val_t Wasmtime owns) as a WitValue. */
  readVal(at: number, type: WitType): WitValue {
    const kind = read.u8(at as Pointer, 0);
    const p = (at + PAYLOAD) as Pointer;
    switch (kind) {
      case ValKind.Bool: return read.u8(p, 0) !== 0;
      case ValKind.S8: return read.i8(p, 0);
      case ValKind.U8: return read.u8(p, 0);
      case ValKind.S16: return read.i16(p, 0);
      case ValKind.U16: return read.u16(p, 0);
      case ValKind.S32: return read.i32(p, 0);
      case ValKind.U32: return read.u32(p, 0);
      case ValKind.S64: return read.i64(p, 0);
      case ValKind.U64: return read.u64(p, 0);
      case ValKind.F32: return read.f32(p, 0);
      case ValKind.F64: return read.f64(p, 0);
      case ValKind.Char: return String.fromCodePoint(read.u32(p, 0));
      case ValKind.String:
      case ValKind.Enum:
        return readName(p);
      case ValKind.List:
      case ValKind.Tuple: {
        const count = read.ptr(p, 0);
        const elements = read.ptr(p, 8);
        if (kind === ValKind.List && type.kind === "list" && type.element.kind === "u8") {
          const bytes = new Uint8Array(count);
          if (count > 0) {
            const raw = new Uint8Array(toArrayBuffer(elements as Pointer, 0, count * VAL_SIZE));
            for (let i = 0; i < count; i++) bytes[i] = raw[i * VAL_SIZE + PAYLOAD]!;
          }
          return bytes;
        }
        const items: WitValue[] = [];
        for (let i = 0; i < count; i++) {
          const itemType = type.kind === "list" ? type.element : type.kind === "tuple" ? type.types[i] : undefined;
          items.push(this.readVal(elements + i * VAL_SIZE, itemType ?? UNKNOWN));
        }
        return items;
      }
      case ValKind.Record: {
        const count = read.ptr(p, 0);
        const entries = read.ptr(p, 8);
        const record: { [field: string]: WitValue } = {};
        for (let i = 0; i < count; i++) {
          const entry = entries + i * RECORD_ENTRY_SIZE;
          const fieldType = type.kind === "record" ? type.fields[i]?.type : undefined;
          record[readName(entry as Pointer)] = this.readVal(entry + VAL_LAYOUT.recordEntryValue, fieldType ?? UNKNOWN);
        }
        return record;
      }
      case ValKind.Variant: {
        const tag = readName(p);
        const payload = read.ptr(p, VAL_LAYOUT.variantPayload);
        if (payload === 0) return { tag };
        const caseType = type.kind === "variant" ? type.cases.find((c) => c.name === tag)?.type : undefined;
        return { tag, val: this.readVal(payload, caseType ?? UNKNOWN) };
      }
      case ValKind.Option: {
        const payload = read.ptr(p, 0);
        return payload === 0 ? { tag: "none" } : { tag: "some", val: this.readVal(payload, type.kind === "option" ? type.type : UNKNOWN) };
      }
      case ValKind.Result: {
        const isOk = read.u8(p, 0) !== 0;
        const payload = read.ptr(p, VAL_LAYOUT.resultPayload);
        const tag = isOk ? "ok" : "err";
        if (payload === 0) return { tag };
        const sideType = type.kind === "result" ? (isOk ? type.ok : type.err) : undefined;
        return { tag, val: this.readVal(payload, sideType ?? UNKNOWN) };
      }
      case ValKind.Flags: {
        const count = read.ptr(p, 0);
        const names = read.ptr(p, 8);
        const flags: string[] = [];
        for (let i = 0; i < count; i++) flags.push(readName((names + i * NAME_SIZE) as Pointer));
        return flags;
      }
      default:
        throw new WitValueError(`cannot convert a component value of kind ${kind} (resources, maps and async types are not supported)`);
    }
  }

  // ------------------------------------------------------------------------------------------ writing

  /** Writes `value` as `type` into the result slot at `at`, which holds `bool false` on entry. */
  writeVal(at: number, type: WitType, value: unknown, path: string): void {
    const w = this.wasmtime;
    const view = new DataView(toArrayBuffer(at as Pointer, 0, VAL_SIZE));
    const p = (at + PAYLOAD) as Pointer;
    switch (type.kind) {
      case "bool":
        if (typeof value !== "boolean") throw mismatch(path, "bool", value);
        view.setUint8(PAYLOAD, value ? 1 : 0);
        view.setUint8(0, ValKind.Bool);
        return;
      case "s8": view.setInt8(PAYLOAD, integer(value, -0x80, 0x7f, path, type.kind)); view.setUint8(0, ValKind.S8); return;
      case "u8": view.setUint8(PAYLOAD, integer(value, 0, 0xff, path, type.kind)); view.setUint8(0, ValKind.U8); return;
      case "s16": view.setInt16(PAYLOAD, integer(value, -0x8000, 0x7fff, path, type.kind), true); view.setUint8(0, ValKind.S16); return;
      case "u16": view.setUint16(PAYLOAD, integer(value, 0, 0xffff, path, type.kind), true); view.setUint8(0, ValKind.U16); return;
      case "s32": view.setInt32(PAYLOAD, integer(value, -0x80000000, 0x7fffffff, path, type.kind), true); view.setUint8(0, ValKind.S32); return;
      case "u32": view.setUint32(PAYLOAD, integer(value, 0, 0xffffffff, path, type.kind), true); view.setUint8(0, ValKind.U32); return;
      case "s64": view.setBigInt64(PAYLOAD, bigInteger(value, -(2n ** 63n), 2n ** 63n - 1n, path, type.kind), true); view.setUint8(0, ValKind.S64); return;
      case "u64": view.setBigUint64(PAYLOAD, bigInteger(value, 0n, 2n ** 64n - 1n, path, type.kind), true); view.setUint8(0, ValKind.U64); return;
      case "f32":
        if (typeof value !== "number") throw mismatch(path, "f32", value);
        view.setFloat32(PAYLOAD, value, true);
        view.setUint8(0, ValKind.F32);
        return;
      case "f64":
        if (typeof value !== "number") throw mismatch(path, "f64", value);
        view.setFloat64(PAYLOAD, value, true);
        view.setUint8(0, ValKind.F64);
        return;
      case "char": {
        const codePoint = typeof value === "string" ? value.codePointAt(0) : undefined;
        if (codePoint === undefined || String.fromCodePoint(codePoint) !== value || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
          throw mismatch(path, "char (a string of one Unicode scalar value)", value);
        }
        view.setUint32(PAYLOAD, codePoint, true);
        view.setUint8(0, ValKind.Char);
        return;
      }
      case "string":
        if (typeof value !== "string") throw mismatch(path, "string", value);
        this.writeName(p, encoder.encode(value));
        view.setUint8(0, ValKind.String);
        return;
      case "enum":
        if (typeof value !== "string" || !type.names.includes(value)) throw mismatch(path, `one of ${type.names.join(", ")}`, value);
        this.writeName(p, encoder.encode(value));
        view.setUint8(0, ValKind.Enum);
        return;
      case "list": {
        const isBytes = type.element.kind === "u8";
        if (!(Array.isArray(value) || (isBytes && value instanceof Uint8Array))) throw mismatch(path, isBytes ? "Uint8Array" : "array", value);
        const items = value as ArrayLike<unknown>;
        w.wasmtime_component_vallist_new_uninit(p, items.length);
        view.setUint8(0, ValKind.List);
        const elements = read.ptr(p, 8);
        if (value instanceof Uint8Array) {
          // list<u8> fast path: one view over all elements, write kind and byte of each.
          if (value.length === 0) return;
          const raw = new Uint8Array(toArrayBuffer(elements as Pointer, 0, value.length * VAL_SIZE));
          for (let i = 0; i < value.length; i++) {
            raw[i * VAL_SIZE] = ValKind.U8;
            raw[i * VAL_SIZE + PAYLOAD] = value[i]!;
          }
          return;
        }
        for (let i = 0; i < items.length; i++) this.writeVal(elements + i * VAL_SIZE, type.element, items[i], `${path}[${i}]`);
        return;
      }
      case "tuple": {
        if (!Array.isArray(value) || value.length !== type.types.length) throw mismatch(path, `array of ${type.types.length} (tuple)`, value);
        w.wasmtime_component_valtuple_new_uninit(p, value.length);
        view.setUint8(0, ValKind.Tuple);
        const elements = read.ptr(p, 8);
        type.types.forEach((itemType, i) => this.writeVal(elements + i * VAL_SIZE, itemType, value[i], `${path}[${i}]`));
        return;
      }
      case "record": {
        if (!isPlainObject(value)) throw mismatch(path, "record object", value);
        const unknown = Object.keys(value).filter((key) => value[key] !== undefined && !type.fields.some((f) => f.name === key));
        if (unknown.length > 0) throw new WitValueError(`${path}: unknown record field ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
        w.wasmtime_component_valrecord_new_uninit(p, type.fields.length);
        view.setUint8(0, ValKind.Record);
        const entries = read.ptr(p, 8);
        type.fields.forEach((field, i) => {
          const entry = entries + i * RECORD_ENTRY_SIZE;
          this.writeName(entry as Pointer, field.nameBytes);
          if (!(field.name in value)) throw new WitValueError(`${path}: missing record field ${JSON.stringify(field.name)}`);
          this.writeVal(entry + VAL_LAYOUT.recordEntryValue, field.type, value[field.name], `${path}.${field.name}`);
        });
        return;
      }
      case "flags": {
        if (!Array.isArray(value)) throw mismatch(path, "array of flag names", value);
        const set = new Set<string>();
        for (const flag of value) {
          if (typeof flag !== "string" || !type.names.includes(flag)) throw mismatch(path, `flags of ${type.names.join(", ")}`, flag);
          set.add(flag);
        }
        const ordered = type.names.filter((name) => set.has(name));
        w.wasmtime_component_valflags_new_uninit(p, ordered.length);
        view.setUint8(0, ValKind.Flags);
        const names = read.ptr(p, 8);
        ordered.forEach((name, i) => this.writeName((names + i * NAME_SIZE) as Pointer, encoder.encode(name)));
        return;
      }
      case "option": {
        const tag = tagOf(value);
        if (tag === "none" && !hasVal(value)) {
          view.setBigUint64(PAYLOAD, 0n, true);
          view.setUint8(0, ValKind.Option);
          return;
        }
        if (tag !== "some" || !hasVal(value)) throw mismatch(path, `{ tag: "some", val } or { tag: "none" }`, value);
        const box = this.newBox();
        view.setBigUint64(PAYLOAD, BigInt(box), true);
        view.setUint8(0, ValKind.Option);
        this.writeVal(box, type.type, value.val, `${path}.some`);
        return;
      }
      case "result": {
        const tag = tagOf(value);
        if (tag !== "ok" && tag !== "err") throw mismatch(path, `{ tag: "ok" | "err", val? }`, value);
        const sideType = tag === "ok" ? type.ok : type.err;
        if (hasVal(value) !== (sideType !== undefined)) {
          throw new WitValueError(`${path}: ${tag} ${sideType === undefined ? "takes no val" : "needs a val"}`);
        }
        view.setUint8(PAYLOAD, tag === "ok" ? 1 : 0);
        view.setBigUint64(PAYLOAD + VAL_LAYOUT.resultPayload, 0n, true);
        view.setUint8(0, ValKind.Result);
        if (sideType === undefined) return;
        const box = this.newBox();
        view.setBigUint64(PAYLOAD + VAL_LAYOUT.resultPayload, BigInt(box), true);
        this.writeVal(box, sideType, (value as { val: unknown }).val, `${path}.${tag}`);
        return;
      }
      case "variant": {
        const tag = tagOf(value);
        const variantCase = type.cases.find((c) => c.name === tag);
        if (variantCase === undefined) throw mismatch(path, `{ tag: ${type.cases.map((c) => JSON.stringify(c.name)).join(" | ")}, val? }`, value);
        if (hasVal(value) !== (variantCase.type !== undefined)) {
          throw new WitValueError(`${path}: case ${variantCase.name} ${variantCase.type === undefined ? "takes no val" : "needs a val"}`);
        }
        this.writeName(p, variantCase.nameBytes);
        view.setBigUint64(PAYLOAD + VAL_LAYOUT.variantPayload, 0n, true);
        view.setUint8(0, ValKind.Variant);
        if (variantCase.type === undefined) return;
        const box = this.newBox();
        view.setBigUint64(PAYLOAD + VAL_LAYOUT.variantPayload, BigInt(box), true);
        this.writeVal(box, variantCase.type, (value as { val: unknown }).val, `${path}.${variantCase.name}`);
        return;
      }
      case "unsupported":
        throw new WitValueError(`${path}: values of type ${type.name} are not supported`);
    }
  }

  /** A heap `wasmtime_component_val_t` holding `bool false`, for option/result/variant payloads. */
  private newBox(): number {
    const box = this.wasmtime.wasmtime_component_val_new(ptr(this.boxSeed));
    if (box === null) throw new Error("wasmtime_component_val_new returned NULL");
    return box;
  }

  /** Fills a wasm_name_t (or the string/enum payload of a value) with a Rust-owned copy of `bytes`. */
  private writeName(at: Pointer, bytes: Uint8Array): void {
    this.wasmtime.wasm_byte_vec_new(at, bytes.length, bytes.length === 0 ? null : ptr(bytes));
  }
}

/** Stand-in type where Wasmtime's value carries everything needed (no list<u8> to recognise). */
const UNKNOWN: WitType = { kind: "unsupported", name: "unknown" };

function readUtf8(data: number, length: number): string {
  return length === 0 ? "" : decoder.decode(new Uint8Array(toArrayBuffer(data as Pointer, 0, length)));
}

/** A wasm_name_t at `at`: size_t length, then data pointer. */
function readName(at: Pointer): string {
  return readUtf8(read.ptr(at, 8), read.ptr(at, 0));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function tagOf(value: unknown): unknown {
  return isPlainObject(value) ? value.tag : undefined;
}

function hasVal(value: unknown): value is { val: unknown } {
  return isPlainObject(value) && value.val !== undefined;
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object" && value !== null) {
    try {
      const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
      return text.length > 60 ? `${text.slice(0, 60)}…` : text;
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

function mismatch(path: string, expected: string, value: unknown): WitValueError {
  return new WitValueError(`${path}: expected ${expected}, got ${describe(value)}`);
}

function integer(value: unknown, min: number, max: number, path: string, type: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw mismatch(path, `${type} (integer ${min}..${max})`, value);
  return value;
}

function bigInteger(value: unknown, min: bigint, max: bigint, path: string, type: string): bigint {
  const big = typeof value === "bigint" ? value : typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (big === undefined || big < min || big > max) throw mismatch(path, `${type} (bigint ${min}..${max})`, value);
  return big;
}
