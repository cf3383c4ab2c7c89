/**
 * The package a session runs: found in the store roots, verified against the trust store, and its module read
 * and matched against the hash the verification saw. The runtime trusts nothing about a package it has not
 * verified itself in this process: appd verifies too, but a file can change between two processes' checks.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { MAX_COMPONENT_BYTES } from "../common/component.ts";
import type { Manifest } from "../common/manifest.ts";
import { readManifest } from "../common/package-check.ts";
import type { Env } from "../common/paths.ts";
import { verifyPackage } from "../common/signing.ts";
import { findPackage } from "../common/store.ts";
import { loadTrustStore } from "../common/trust.ts";

export interface LoadedPackage {
  dir: string;
  manifest: Manifest;
  /** The component, exactly the bytes whose SHA-256 the signature covers. */
  moduleBytes: Uint8Array;
  moduleSha256: string;
  signerKey: string;
}

/** Why a session cannot start from this package; `reason` becomes the D-Bus error name later (appd). */
export class PackageLoadError extends Error {
  constructor(
    readonly reason: "not-installed" | "unsigned" | "tampered" | "untrusted" | "revoked" | "malformed" | "invalid-package",
    message: string,
  ) {
    super(message);
    this.name = "PackageLoadError";
  }
}

export async function loadVerifiedPackage(appId: string, env: Env = process.env): Promise<LoadedPackage> {
  const dir = findPackage(appId, env);
  if (dir === undefined) {
    throw new PackageLoadError("not-installed", `${appId} is not installed: install it with \`weft-pack install <dir>\``);
  }
  const outcome = await verifyPackage(dir, { trustStore: await loadTrustStore(env) });
  if (outcome.status !== "trusted") throw new PackageLoadError(outcome.status, `refusing to run ${appId}: ${outcome.message}`);

  const report = await readManifest(dir);
  if (report.manifest === undefined) {
    const problems = report.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new PackageLoadError("invalid-package", `${dir}/wapp.toml is not valid: ${problems}`);
  }
  const manifest = report.manifest;
  if (manifest.package.id !== appId) {
    throw new PackageLoadError("invalid-package", `${dir} declares package.id ${manifest.package.id}, not ${appId}`);
  }

  // Signed packages hold no symlinks (signing refuses them), so the manifest path is the signed path.
  const modulePath = manifest.runtime.module;
  const signed = outcome.files.find((f) => f.path === modulePath);
  if (signed === undefined) throw new PackageLoadError("invalid-package", `${modulePath} is not among the signed files of ${dir}`);
  const moduleBytes = readRegularFile(join(dir, modulePath), MAX_COMPONENT_BYTES);
  const moduleSha256 = new Bun.CryptoHasher("sha256").update(moduleBytes).digest("hex");
  if (moduleSha256 !== signed.sha256) {
    throw new PackageLoadError("tampered", `${join(dir, modulePath)} changed after the package was verified; refusing to run it`);
  }
  return { dir, manifest, moduleBytes, moduleSha256, signerKey: outcome.signer.publicKeyHex };
}

/** Reads a regular file without following a final symlink and without blocking on a FIFO, up to `limit`. */
export function readRegularFile(path: string, limit: number): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
