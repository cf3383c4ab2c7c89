/**
 * The trust store: which signing keys this user accepts, and which are revoked. The reference had none
 * (SPEC 9, item 13); WEFT reads directories of public keys, user first, then system:
 *
 *   $XDG_CONFIG_HOME/weft/trusted.d/*.pub     $WEFT_SYSCONFDIR/trusted.d/*.pub   (default /etc/weft)
 *   $XDG_CONFIG_HOME/weft/revoked.d/*.pub     $WEFT_SYSCONFDIR/revoked.d/*.pub
 *
 * Each `*.pub` file holds one key in the `weft-sign.pub` format. Revocation wins: a key listed in any revoked
 * directory is revoked even if some trusted directory lists it too, so an administrator's revocation cannot be
 * undone by a user's trusted copy. A broken key file is a warning, never a reason to stop loading the others:
 * one bad file must not lock the user out of every app.
 */

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { KeyFileError, readPublicKey, toHex } from "./keys.ts";
import { type Env, trustStoreDirs, type TrustStoreDirs } from "../os/paths.ts";

export interface StoreKey {
  publicKey: Uint8Array;
  publicKeyHex: string;
  /** The `*.pub` file it was read from. */
  file: string;
}

function keyHex(key: Uint8Array | string): string {
  return typeof key === "string" ? key.toLowerCase() : toHex(key);
}

/** The keys of a trust store and the questions asked of it; built by `loadTrustStore`. */
export class TrustStore {
  constructor(
    /** Trusted keys in directory order (user first); a revoked key may still be listed here but loses. */
    readonly trusted: readonly StoreKey[],
    readonly revoked: readonly StoreKey[],
    /** Unreadable or malformed key files and unreadable directories, one human-readable line each. */
    readonly warnings: readonly string[],
    readonly dirs: TrustStoreDirs,
  ) {}

  /** An empty store: nothing is trusted, nothing revoked. */
  static empty(): TrustStore {
    return new TrustStore([], [], [], { trusted: [], revoked: [] });
  }

  /** The revoked-directory entry for a key (raw bytes or hex), if it is revoked. */
  revocationOf(key: Uint8Array | string): StoreKey | undefined {
    const hex = keyHex(key);
    return this.revoked.find((k) => k.publicKeyHex === hex);
  }

  isRevoked(key: Uint8Array | string): boolean {
    return this.revocationOf(key) !== undefined;
  }

  /** The trusted-directory entry for a key, unless the key is revoked. */
  trustOf(key: Uint8Array | string): StoreKey | undefined {
    const hex = keyHex(key);
    if (this.isRevoked(hex)) return undefined;
    return this.trusted.find((k) => k.publicKeyHex === hex);
  }

  isTrusted(key: Uint8Array | string): boolean {
    return this.trustOf(key) !== undefined;
  }

  /** Trusted keys that are not revoked, without duplicates (a key may sit in both user and system dirs). */
  effectiveTrustedKeys(): StoreKey[] {
    const seen = new Set<string>();
    return this.trusted.filter((k) => {
      if (seen.has(k.publicKeyHex) || this.isRevoked(k.publicKeyHex)) return false;
      seen.add(k.publicKeyHex);
      return true;
    });
  }

  /** Where a user puts a key to trust it: the first (user) trusted directory. */
  userTrustedDir(): string {
    return this.dirs.trusted[0] ?? "~/.config/weft/trusted.d";
  }
}

async function loadKeysFrom(dirs: readonly string[], warnings: string[]): Promise<StoreKey[]> {
  const keys: StoreKey[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A store directory nobody created is the normal state, not a problem worth a warning.
      if (code !== "ENOENT") warnings.push(`${dir}: cannot list trust store directory (${code ?? String(error)})`);
      continue;
    }
    for (const name of names.filter((n) => n.endsWith(".pub")).sort()) {
      const file = join(dir, name);
      try {
        const publicKey = await readPublicKey(file);
        keys.push({ publicKey, publicKeyHex: toHex(publicKey), file });
      } catch (error) {
        warnings.push(error instanceof KeyFileError ? `${error.message}; key skipped` : `${file}: ${String(error)}; key skipped`);
      }
    }
  }
  return keys;
}

/** Loads the trust store from explicit directories (tests, tools with `--trust-dir`). */
export async function loadTrustStoreFromDirs(dirs: TrustStoreDirs): Promise<TrustStore> {
  const warnings: string[] = [];
  const trusted = await loadKeysFrom(dirs.trusted, warnings);
  const revoked = await loadKeysFrom(dirs.revoked, warnings);
  return new TrustStore(trusted, revoked, warnings, dirs);
}

/** Loads the trust store of the user described by `env` (see `trustStoreDirs`). */
export async function loadTrustStore(env: Env = process.env): Promise<TrustStore> {
  return loadTrustStoreFromDirs(trustStoreDirs(env));
}
