/**
 * What a session's supervisor hands each child about the package it verified, so a launch verifies the
 * signature once (in appd) instead of once per process:
 *
 *   appd                                         weft-runtime / weft-app-shell
 *   verify signature, trust, every file's hash   ─ sealed memfd on --package-fd ─►  decode, check the app id,
 *   (common/package/verified-package.ts)                   {appId, dir, signerKey, files}   hash each file it reads
 *                                                                                   against `files`, refuse a
 *                                                                                   mismatch
 *
 * The record is JSON in a memfd sealed against writing, growing and shrinking (common/os/sealed-content.ts): only
 * the parent that spawned the child could have put it on that descriptor, and it cannot change while the child
 * reads it. It carries hashes, never bytes: a child still reads every file it runs or serves itself, and runs or
 * serves it only when its SHA-256 is the one the verification saw, so a file swapped between appd's check and the
 * child's read is refused. No child ever runs bytes nobody verified.
 *
 * The child decodes the record as hostile input all the same (a bug in a supervisor, or a test playing one, must
 * end in a clear refusal, not in a path outside the package).
 */

import * as v from "valibot";
import { appIdProblem, type AppId } from "./app-id.ts";

/** A record above this is refused (a package of 100 000 files with long names stays well below it). */
export const MAX_PACKAGE_RECORD_BYTES = 32 * 1024 * 1024;
export const MAX_RECORD_PATH_BYTES = 1024;

export interface PackageRecordFile {
  /** Relative to `dir`, `/`-separated, without `.` or `..` segments. */
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the file's bytes, as the verification computed it. */
  sha256: string;
}

export interface PackageRecord {
  appId: AppId;
  /** The installed package's directory (absolute). */
  dir: string;
  /** The signer's Ed25519 public key, hex. */
  signerKey: string;
  /** Every file the signature covers. */
  files: readonly PackageRecordFile[];
}

/** Why a relative package path is not one a record may name, or undefined. */
export function recordPathProblem(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (new TextEncoder().encode(path).length > MAX_RECORD_PATH_BYTES) return `is longer than ${MAX_RECORD_PATH_BYTES} bytes`;
  if (path.includes("\0")) return "holds a NUL byte";
  if (path.startsWith("/")) return "is absolute";
  if (path.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) return "has an empty, `.` or `..` segment";
  return undefined;
}

const hex = (bytes: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} lowercase hex digits`));

const Schema = v.strictObject({
  appId: v.pipe(v.string(), v.check((id) => appIdProblem(id) === undefined, "must be a valid app id")),
  dir: v.pipe(
    v.string(),
    v.maxLength(4096, "must be at most 4096 characters"),
    v.check((dir) => dir.startsWith("/") && !dir.includes("\0") && !dir.split("/").includes(".."), "must be an absolute path without `..`"),
  ),
  signerKey: hex(32),
  files: v.array(
    v.strictObject({
      path: v.pipe(v.string(), v.check((path) => recordPathProblem(path) === undefined, "must be a relative path inside the package")),
      size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
      sha256: hex(32),
    }),
  ),
});

export class PackageRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PackageRecordError";
  }
}

export function encodePackageRecord(record: PackageRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

/**
 * Reads a record for the child of `appId`. Throws a PackageRecordError naming the first problem: not JSON, a
 * field missing or malformed, a path twice, or a record about another app.
 */
export function decodePackageRecord(bytes: Uint8Array, appId: AppId): PackageRecord {
  if (bytes.length > MAX_PACKAGE_RECORD_BYTES) throw new PackageRecordError(`the package record is ${bytes.length} bytes; at most ${MAX_PACKAGE_RECORD_BYTES} are read`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new PackageRecordError("the package record is not UTF-8 JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PackageRecordError("the package record must be a JSON object");
  const parsed = v.safeParse(Schema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = v.getDotPath(issue) ?? "(the record)";
    throw new PackageRecordError(`the package record's ${where} ${issue.message.startsWith("must") ? issue.message : `is malformed: ${issue.message}`}`);
  }
  const record = parsed.output;
  if (record.appId !== appId) throw new PackageRecordError(`the package record is about ${record.appId}, not ${appId}`);
  const seen = new Set<string>();
  for (const file of record.files) {
    if (seen.has(file.path)) throw new PackageRecordError(`the package record names ${JSON.stringify(file.path)} twice`);
    seen.add(file.path);
  }
  return { ...record, appId };
}
