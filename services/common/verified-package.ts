/**
 * An installed package as a session's process may use it: found in the store roots, its signature verified against
 * the trust store in this process, its manifest valid and naming the app asked for. Its files are then read only
 * through `readSigned`, which matches each one against the hash the verification saw: a file changed on disk after
 * verification is refused, never run or shown. appd verifies too, but a file can change between two processes'
 * checks, so each process trusts only what it verified itself.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Manifest } from "./manifest.ts";
import { readManifest } from "./package-check.ts";
import type { Env } from "./paths.ts";
import { verifyPackage, type DigestEntry } from "./signing.ts";
import { findPackage } from "./store.ts";
import { loadTrustStore } from "./trust.ts";

/** Why a session cannot start from a package; `reason` becomes appd's D-Bus error name. */
export class PackageLoadError extends Error {
  constructor(
    readonly reason: "not-installed" | "unsigned" | "tampered" | "untrusted" | "revoked" | "malformed" | "invalid-package",
    message: string,
  ) {
    super(message);
    this.name = "PackageLoadError";
  }
}

export interface VerifiedPackage {
  dir: string;
  manifest: Manifest;
  signerKey: string;
  /** Every file the signature covers, with its size and SHA-256, as the verification saw them. */
  signedFiles: readonly DigestEntry[];
  /** The bytes of signed file `path` (relative), at most `limit`, exactly those the signature covers. */
  readSigned(path: string, limit: number): { bytes: Uint8Array; sha256: string };
}

/** Finds and verifies `appId`'s package for `purpose` ("run", "show": words for the refusal's message). */
export async function openVerifiedPackage(appId: string, purpose: string, env: Env = process.env): Promise<VerifiedPackage> {
  const dir = findPackage(appId, env);
  if (dir === undefined) throw new PackageLoadError("not-installed", `${appId} is not installed: install it with \`weft-pack install <dir>\``);
  const outcome = await verifyPackage(dir, { trustStore: await loadTrustStore(env) });
  if (outcome.status !== "trusted") throw new PackageLoadError(outcome.status, `refusing to ${purpose} ${appId}: ${outcome.message}`);

  const report = await readManifest(dir);
  if (report.manifest === undefined) {
    const problems = report.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new PackageLoadError("invalid-package", `${dir}/wapp.toml is not valid: ${problems}`);
  }
  const manifest = report.manifest;
  if (manifest.package.id !== appId) throw new PackageLoadError("invalid-package", `${dir} declares package.id ${manifest.package.id}, not ${appId}`);

  const signedFiles = outcome.files;
  return {
    dir,
    manifest,
    signerKey: outcome.signer.publicKeyHex,
    signedFiles,
    readSigned(path, limit) {
      // Signed packages hold no symlinks (signing refuses them), so a signed path is the path on disk.
      const signed = signedFiles.find((f) => f.path === path);
      if (signed === undefined) throw new PackageLoadError("invalid-package", `${path} is not among the signed files of ${dir}`);
      const bytes = readRegularFile(join(dir, path), limit);
      const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
      if (sha256 !== signed.sha256) throw new PackageLoadError("tampered", `${join(dir, path)} changed after the package was verified; refusing to ${purpose} it`);
      return { bytes, sha256 };
    },
  };
}

/** Reads a regular file without following a final symlink and without blocking on a FIFO, up to `limit`. */
export function readRegularFile(path: string, limit: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new PackageLoadError("tampered", `${path} is a symbolic link now: refusing to follow it`);
    if (code === "ENOENT") throw new PackageLoadError("tampered", `${path} is gone since the package was verified`);
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new PackageLoadError("invalid-package", `${path} is not a regular file`);
    if (info.size > limit) throw new PackageLoadError("invalid-package", `${path} is larger than ${limit} bytes`);
    const bytes = new Uint8Array(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return offset === bytes.length ? bytes : bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}
