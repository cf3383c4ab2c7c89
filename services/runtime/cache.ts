/**
 * Precompiled components: compiling a 14 MB ComponentizeJS component takes seconds, loading its compiled form
 * milliseconds. Entries live in `$XDG_CACHE_HOME/weft/components/<key>.cwasm`, keyed by SHA-256 of the engine
 * fingerprint (Wasmtime version + engine configuration) and the component's digest.
 *
 * Deserialising a compiled artifact runs native code, so only artifacts compiled here, from the bytes of a
 * package this process has just verified, are ever stored under that package's digest; the directory is
 * private to the user (0700). Another process of the same user could replace an entry, but such a process
 * could already ptrace the runtime: the cache adds no authority across a boundary that exists.
 */

import { closeSync, constants, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { weftCacheDir, type Env } from "../common/os/paths.ts";

export function componentCacheDir(env: Env = process.env): string {
  return join(weftCacheDir(env), "components");
}

export function cacheKey(engineFingerprint: string, componentSha256: string): string {
  return new Bun.CryptoHasher("sha256").update(`${engineFingerprint}\0${componentSha256}`).digest("hex");
}

export interface CachedComponent {
  file: string;
  /** True when this call compiled it (a cache miss). */
  compiled: boolean;
}

/**
 * The compiled artifact for a verified component: from the cache, or compiled with `compile` and stored
 * atomically (temporary file, then rename), so a concurrent reader never sees half an artifact.
 */
export async function compiledComponent(
  componentSha256: string,
  componentBytes: Uint8Array,
  engineFingerprint: string,
  compile: (bytes: Uint8Array) => Promise<Uint8Array>,
  env: Env = process.env,
): Promise<CachedComponent> {
  const dir = componentCacheDir(env);
  const file = join(dir, `${cacheKey(engineFingerprint, componentSha256)}.cwasm`);
  if (existsSync(file)) return { file, compiled: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const artifact = await compile(componentBytes);
  const temporary = `${file}.tmp-${process.pid}-${crypto.randomUUID()}`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    let written = 0;
    while (written < artifact.length) written += writeSync(fd, artifact, written, artifact.length - written);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return { file, compiled: true };
}
