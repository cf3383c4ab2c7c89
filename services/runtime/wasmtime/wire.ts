/**
 * The binary form of a host call's response, written by the main thread into the shared buffer and read by
 * the guest worker (see host-call.ts for how it crosses). It carries JavaScript values, not WIT: the worker
 * checks them against the function's WIT type when it builds Wasmtime's values (values.ts).
 *
 *   response := status:u8 body
 *     status 0 (ok)          body := count:u32 value{count}     the host function's results
 *     status 1 (host error)  body := UTF-8 message              the host function threw
 *
 *   value := tag:u8 payload
 *     0 false   1 true
 *     2 number  f64
 *     3 bigint  i64 (−2^63 ≤ v < 2^63)        4 bigint  u64 (2^63 ≤ v < 2^64)
 *     5 string  length:u32 UTF-8
 *     6 bytes   length:u32 bytes              (a Uint8Array)
 *     7 array   count:u32 value{count}
 *     8 object  count:u32 (keyLength:u32 UTF-8 value){count}   (own enumerable keys; `undefined` skipped)
 *
 * Integers are little-endian. Anything else (null, undefined as a value, functions, other typed arrays,
 * Maps, bigints outside 64 bits) is refused with a TypeError when encoding.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const Tag = { False: 0, True: 1, Number: 2, Int64: 3, Uint64: 4, String: 5, Bytes: 6, Array: 7, Object: 8 } as const;

export const RESPONSE_OK = 0;
export const RESPONSE_HOST_ERROR = 1;

/** Appends little-endian fields to a buffer that doubles when full. */
class Writer {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  i64(value: bigint, signed: boolean): void {
    this.reserve(8);
    if (signed) this.view.setBigInt64(this.length, value, true);
    else this.view.setBigUint64(this.length, value, true);
    this.length += 8;
  }

  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** u32 byte length, then UTF-8. */
  text(value: string): void {
    // Worst case 3 bytes per UTF-16 unit; encodeInto writes in place, the length goes in afterwards.
    this.reserve(4 + value.length * 3);
    const { written } = encoder.encodeInto(value, this.bytes.subarray(this.length + 4));
    this.view.setUint32(this.length, written, true);
    this.length += 4 + written;
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Encodes a host function's results (status ok). Throws TypeError naming the path of a bad value. */
export function encodeResults(results: readonly unknown[]): Uint8Array {
  const writer = new Writer();
  writer.u8(RESPONSE_OK);
  writer.u32(results.length);
  results.forEach((value, i) => encodeValue(writer, value, `results[${i}]`, 0));
  return writer.result();
}

/** Encodes a host function's failure (status host error). */
export function encodeHostError(message: string): Uint8Array {
  const bytes = encoder.encode(message);
  const out = new Uint8Array(1 + bytes.length);
  out[0] = RESPONSE_HOST_ERROR;
  out.set(bytes, 1);
  return out;
}

const MAX_DEPTH = 200;

function encodeValue(writer: Writer, value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new TypeError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case "boolean":
      writer.u8(value ? Tag.True : Tag.False);
      return;
    case "number":
      writer.u8(Tag.Number);
      writer.f64(value);
      return;
    case "bigint":
      if (value >= -(2n ** 63n) && value < 2n ** 63n) {
        writer.u8(Tag.Int64);
        writer.i64(value, true);
      } else if (value >= 0n && value < 2n ** 64n) {
        writer.u8(Tag.Uint64);
        writer.i64(value, false);
      } else {
        throw new TypeError(`${path}: bigint ${value} does not fit in 64 bits`);
      }
      return;
    case "string":
      writer.u8(Tag.String);
      writer.text(value);
      return;
    case "object": {
      if (value instanceof Uint8Array) {
        writer.u8(Tag.Bytes);
        writer.u32(value.length);
        writer.raw(value);
        return;
      }
      if (Array.isArray(value)) {
        writer.u8(Tag.Array);
        writer.u32(value.length);
        value.forEach((item, i) => encodeValue(writer, item, `${path}[${i}]`, depth + 1));
        return;
      }
      if (value !== null && !ArrayBuffer.isView(value) && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
        const entries = Object.entries(value).filter(([, v]) => v !== undefined);
        writer.u8(Tag.Object);
        writer.u32(entries.length);
        for (const [key, item] of entries) {
          writer.text(key);
          encodeValue(writer, item, `${path}.${key}`, depth + 1);
        }
        return;
      }
      break;
    }
  }
  const shown = value === null ? "null" : typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
  throw new TypeError(`${path}: ${shown} is not a WIT value`);
}

/** A decoded response: the results, or the host function's error message. */
export type DecodedResponse = { ok: true; results: unknown[] } | { ok: false; message: string };

/** Decodes what encodeResults/encodeHostError produced. Byte arrays are copies, safe to keep. */
export function decodeResponse(bytes: Uint8Array): DecodedResponse {
  if (bytes[0] === RESPONSE_HOST_ERROR) return { ok: false, message: decoder.decode(bytes.subarray(1)) };
  const reader = new Reader(bytes);
  reader.offset = 1;
  const count = reader.u32();
  const results: unknown[] = [];
  for (let i = 0; i < count; i++) results.push(reader.value());
  return { ok: true, results };
}

class Reader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(): number {
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  text(): string {
    const length = this.u32();
    const value = decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  value(): unknown {
    const tag = this.bytes[this.offset++];
    switch (tag) {
      case Tag.False: return false;
      case Tag.True: return true;
      case Tag.Number: {
        const value = this.view.getFloat64(this.offset, true);
        this.offset += 8;
        return value;
      }
      case Tag.Int64:
      case Tag.Uint64: {
        const value = tag === Tag.Int64 ? this.view.getBigInt64(this.offset, true) : this.view.getBigUint64(this.offset, true);
        this.offset += 8;
        return value;
      }
      case Tag.String: return this.text();
      case Tag.Bytes: {
        const length = this.u32();
        const value = this.bytes.slice(this.offset, this.offset + length);
        this.offset += length;
        return value;
      }
      case Tag.Array: {
        const count = this.u32();
        const items: unknown[] = [];
        for (let i = 0; i < count; i++) items.push(this.value());
        return items;
      }
      case Tag.Object: {
        const count = this.u32();
        const object: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = this.text();
          // defineProperty, not assignment: a key "__proto__" must stay a plain field.
          Object.defineProperty(object, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
        }
        return object;
      }
      default:
        throw new Error(`corrupt host-call response: tag ${tag} at offset ${this.offset - 1}`);
    }
  }
}
