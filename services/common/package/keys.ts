/**
 * Ed25519 signing keys in the reference's file format (SPEC 3.2, `generate-key`):
 *
 *   weft-sign.key   lowercase hex of the 32-byte secret seed, 64 characters, no newline, mode 0600
 *   weft-sign.pub   lowercase hex of the 32-byte public key, 64 characters, no newline
 *
 * Readers trim surrounding whitespace (an editor's trailing newline is harmless) and accept either hex case,
 * as the reference's `hex::decode` did. Ed25519 is pure RFC 8032 from @noble/ed25519; verification uses its
 * strict branch (`zip215: false`: canonical encodings, small-order keys rejected).
 */

import * as ed from "@noble/ed25519";
import { constants } from "node:fs";
import { mkdir, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { lstatIfExists, readSmallRegularFile, SmallFileError } from "./package-files.ts";

export const SECRET_KEY_FILE = "weft-sign.key";
export const PUBLIC_KEY_FILE = "weft-sign.pub";

export const SECRET_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** Key files are tiny; anything much bigger is not a key and is not read into memory. */
const MAX_KEY_FILE_BYTES = 4096;

/** A key file that cannot be used; the message names the file and what is wrong with it. */
export class KeyFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "KeyFileError";
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/**
 * Strict hex decoding of exactly `length` bytes after trimming; the reason it fails, or the bytes.
 * (Buffer.from(…, "hex") silently stops at the first bad character, so it is not used for validation.)
 */
export function decodeHex(text: string, length: number, what: string): Uint8Array | string {
  const trimmed = text.trim();
  if (trimmed.length !== length * 2) {
    return `expected ${length * 2} hex characters (${what}), found ${trimmed.length}`;
  }
  if (!/^[0-9a-fA-F]*$/.test(trimmed)) return `contains characters that are not hex digits (expected ${what})`;
  return new Uint8Array(Buffer.from(trimmed, "hex"));
}

/** Why 32 bytes are not a usable Ed25519 public key, or undefined. */
export function publicKeyProblem(bytes: Uint8Array): string | undefined {
  try {
    const point = ed.Point.fromBytes(bytes, false);
    // A small-order key verifies forged signatures under lax rules; no honestly generated key is one.
    if (point.isSmallOrder()) return "is a small-order point, not a usable Ed25519 public key";
    return undefined;
  } catch {
    return "is not a valid Ed25519 public key (not a point on the curve)";
  }
}

export function parseSecretKey(text: string, file: string): Uint8Array {
  const bytes = decodeHex(text, SECRET_KEY_BYTES, "a 32-byte Ed25519 secret key");
  if (typeof bytes === "string") throw new KeyFileError(file, bytes);
  return bytes;
}

export function parsePublicKey(text: string, file: string): Uint8Array {
  const bytes = decodeHex(text, PUBLIC_KEY_BYTES, "a 32-byte Ed25519 public key");
  if (typeof bytes === "string") throw new KeyFileError(file, bytes);
  const problem = publicKeyProblem(bytes);
  if (problem !== undefined) throw new KeyFileError(file, problem);
  return bytes;
}

async function readKeyText(file: string): Promise<string> {
  try {
    return await readSmallRegularFile(file, { noFollow: false, maxBytes: MAX_KEY_FILE_BYTES });
  } catch (error) {
    if (error instanceof SmallFileError) {
      throw new KeyFileError(file, error.problem === "too-large" ? `${error.reason}, too large for a key file` : error.reason);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new KeyFileError(file, "no such file");
    if (code === "EACCES") throw new KeyFileError(file, "permission denied");
    if (code === "EISDIR") throw new KeyFileError(file, "is a directory");
    throw new KeyFileError(file, error instanceof Error ? error.message : String(error));
  }
}

/** Reads a `weft-sign.key` file: 64 hex characters, trimmed. */
export async function readSecretKey(file: string): Promise<Uint8Array> {
  return parseSecretKey(await readKeyText(file), file);
}

/** Reads a `*.pub` file: 64 hex characters, trimmed, that decode to a valid Ed25519 point. */
export async function readPublicKey(file: string): Promise<Uint8Array> {
  return parsePublicKey(await readKeyText(file), file);
}

export async function publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array> {
  return ed.getPublicKeyAsync(secretKey);
}

/** Pure Ed25519 (RFC 8032) signature of `message`. */
export async function signBytes(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  return ed.signAsync(message, secretKey);
}

/** RFC 8032 verification (strict branch); false for any malformed input rather than an exception. */
export async function verifyBytes(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  try {
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export interface GeneratedKeyPair {
  secretKeyFile: string;
  publicKeyFile: string;
  publicKeyHex: string;
}

/**
 * Creates `weft-sign.key` and `weft-sign.pub` in `outDir` (created if missing) from the OS RNG, refusing to
 * overwrite either. The secret key file is created with O_EXCL and mode 0600 in the same open call, so it is
 * never readable by others, not even for the moment a later chmod would take.
 */
export async function generateKeyPair(outDir: string): Promise<GeneratedKeyPair> {
  const secretKeyFile = join(outDir, SECRET_KEY_FILE);
  const publicKeyFile = join(outDir, PUBLIC_KEY_FILE);
  for (const file of [secretKeyFile, publicKeyFile]) {
    if ((await lstatIfExists(file)) !== undefined) throw new KeyFileError(file, "already exists; refusing to overwrite a key");
  }
  await mkdir(outDir, { recursive: true });

  const { secretKey, publicKey } = await ed.keygenAsync();
  const exclusive = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  await writeNew(secretKeyFile, toHex(secretKey), exclusive, 0o600);
  try {
    await writeNew(publicKeyFile, toHex(publicKey), exclusive, 0o644);
  } catch (error) {
    // Leave no half pair behind: a retry would otherwise refuse because the secret key exists.
    await unlink(secretKeyFile).catch(() => {});
    throw error;
  }
  return { secretKeyFile, publicKeyFile, publicKeyHex: toHex(publicKey) };
}

async function writeNew(file: string, text: string, flags: number, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, flags, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new KeyFileError(file, "already exists; refusing to overwrite a key");
    }
    throw error;
  }
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
