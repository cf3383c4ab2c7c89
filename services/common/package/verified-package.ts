/**
 * An installed package as a session's process may use it: its signature verified against the trust store, its
 * manifest valid and naming the app asked for. Its files are then read only through `readSigned`, which matches
 * each one against the hash the verification saw: a file changed on disk after verification is refused, never run
 * or shown.
 *
 * A launch verifies once, in appd (`openVerifiedPackage`); appd hands each session child the result as a package
 * record (protocol/package-record.ts) and the child takes it with `receiveVerifiedPackage`. The child still reads
 * and hashes every file it uses itself, so a file swapped between appd's check and the child's read is refused.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { AppId } from "../../../protocol/app-id.ts";
import { decodePackageRecord, MAX_PACKAGE_RECORD_BYTES, PackageRecordError, type PackageRecord } from "../../../protocol/package-record.ts";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, parseManifest, type Manifest } from "./manifest.ts";
import type { Env } from "../os/paths.ts";
import { SealedContentError, takeSealedContent } from "../os/sealed-content.ts";
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
  /** What a supervisor hands its session's children (protocol/package-record.ts). */
  record: PackageRecord;
  dir: string;
  manifest: Manifest;
  signerKey: string;
  /** Every file the signature covers, with its size and SHA-256, as the verification saw them. */
  signedFiles: readonly DigestEntry[];
  /** The bytes of signed file `path` (relative), at most `limit`, exactly those the signature covers. */
  readSigned(path: string, limit: number): { bytes: Uint8Array; sha256: string };
}

/** Finds and verifies `appId`'s package: signature, trust, every file's hash. `purpose` ("run", "show") is a word
 *  for the refusal's message. A package that cannot even be read as one is refused as `invalid-package`. */
export async function openVerifiedPackage(appId: AppId, purpose: string, env: Env = process.env): Promise<VerifiedPackage> {
  const dir = findPackage(appId, env);
  if (dir === undefined) throw new PackageLoadError("not-installed", `${appId} is not installed: install it with \`weft-pack install <dir>\``);
  let outcome;
  try {
    outcome = await verifyPackage(dir, { trustStore: await loadTrustStore(env) });
  } catch (error) {
    throw new PackageLoadError("invalid-package", `${dir} cannot be read as a package: ${(error as Error).message}`);
  }
  if (outcome.status !== "trusted") throw new PackageLoadError(outcome.status, `refusing to ${purpose} ${appId}: ${outcome.message}`);
  return fromRecord({ appId, dir, signerKey: outcome.signer.publicKeyHex, files: outcome.files }, purpose);
}

/**
 * The package the supervisor verified, from the record on inherited descriptor `fd` (closed here, whatever
 * happens). Refused as `invalid-package` unless it is a sealed record about `appId`.
 */
export function receiveVerifiedPackage(fd: number, appId: AppId, purpose: string): VerifiedPackage {
  let record: PackageRecord;
  try {
    record = decodePackageRecord(takeSealedContent(fd, MAX_PACKAGE_RECORD_BYTES), appId);
  } catch (error) {
    if (error instanceof PackageRecordError || error instanceof SealedContentError) {
      throw new PackageLoadError("invalid-package", `the package record on descriptor ${fd} is refused: ${error.message} (the supervisor, appd, writes it)`);
    }
    throw error;
  }
  return fromRecord(record, purpose);
}

/** The package a record describes, its manifest read through the record's hashes. */
function fromRecord(record: PackageRecord, purpose: string): VerifiedPackage {
  const { dir } = record;
  const byPath = new Map(record.files.map((file) => [file.path, file]));
  const readSigned = (path: string, limit: number) => {
    // Signed packages hold no symlinks (signing refuses them), so a signed path is the path on disk.
    const signed = byPath.get(path);
    if (signed === undefined) throw new PackageLoadError("invalid-package", `${path} is not among the signed files of ${dir}`);
    const bytes = readRegularFile(join(dir, path), limit);
    const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    if (sha256 !== signed.sha256) throw new PackageLoadError("tampered", `${join(dir, path)} changed after the package was verified; refusing to ${purpose} it`);
    return { bytes, sha256 };
  };

  const report = parseManifest(readSigned(MANIFEST_FILE, MAX_MANIFEST_BYTES).bytes);
  if (report.manifest === undefined) {
    const problems = report.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new PackageLoadError("invalid-package", `${dir}/${MANIFEST_FILE} is not valid: ${problems}`);
  }
  const manifest = report.manifest;
  if (manifest.package.id !== record.appId) {
    throw new PackageLoadError("invalid-package", `${dir} declares package.id ${manifest.package.id}, not ${record.appId}`);
  }
  return { record, dir, manifest, signerKey: record.signerKey, signedFiles: record.files, readSigned };
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
