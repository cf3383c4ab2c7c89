/**
 * The precompiled-component file: Wasmtime's serialized component (native code, an ELF image) behind a
 * header with its SHA-256.
 *
 *   offset 0   8 bytes   magic "WEFTCWM" 0x01 (format version 1)
 *   offset 8   32 bytes  SHA-256 of everything from offset 40
 *   offset 40  …         wasmtime_component_serialize output
 *
 * Why the digest: Wasmtime checks an artifact's version and engine settings, but not its code bytes, and it
 * runs them as machine code. A file damaged on disk would then crash the whole process (or worse) instead
 * of failing to load. Hashing costs ~10 ms per 10 MB at load; the digest is no signature: only load files
 * this host compiled from a verified package.
 */

const MAGIC = new Uint8Array([0x57, 0x45, 0x46, 0x54, 0x43, 0x57, 0x4d, 0x01]); // "WEFTCWM" 1
const HEADER_BYTES = 40;

function sha256(bytes: Uint8Array): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(bytes).digest() as Uint8Array;
}

/** Wraps Wasmtime's serialized component in the file format above. */
export function wrapPrecompiled(serialized: Uint8Array): Uint8Array {
  const file = new Uint8Array(HEADER_BYTES + serialized.length);
  file.set(MAGIC, 0);
  file.set(sha256(serialized), MAGIC.length);
  file.set(serialized, HEADER_BYTES);
  return file;
}

/** The serialized component inside a precompiled file; throws when the file is not one, or is damaged. */
export function unwrapPrecompiled(file: Uint8Array, name: string): Uint8Array {
  if (file.length < HEADER_BYTES || !MAGIC.every((byte, i) => file[i] === byte)) {
    throw new Error(`${name} is not a precompiled component (written by precompileComponent)`);
  }
  const serialized = file.subarray(HEADER_BYTES);
  const expected = file.subarray(MAGIC.length, HEADER_BYTES);
  const actual = sha256(serialized);
  if (!actual.every((byte, i) => expected[i] === byte)) {
    throw new Error(`${name} is damaged: its SHA-256 does not match its header; precompile the component again`);
  }
  return serialized;
}
