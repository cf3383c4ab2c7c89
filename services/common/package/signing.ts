/**
 * Package signatures, bit-compatible with the reference's `weft-pack sign` (SPEC 3.3):
 *
 *   text   = for each regular file except the top-level signature.sig, sorted byte-wise by UTF-8 path:
 *              "<relative/path>\t<sha256 hex of the file>\n"
 *   digest = SHA-256(text)                      32 bytes
 *   sig    = Ed25519(secret key, digest)        pure RFC 8032, the digest itself is the message
 *   signature.sig = hex(sig)                    128 lowercase characters, no newline
 *
 * WEFT adds `signer.pub` (the signer's public key, hex) to the package before hashing, so the signature covers
 * it. With it, verification can tell "modified after signing" (the signature does not match the key the package
 * names) from "signed by a key you do not trust" (it matches, but the key is not in the trust store). Packages
 * signed by the reference have no `signer.pub` and are checked against every trusted key instead.
 *
 * Differences from the reference (see docs/signing.md): symlinks, special files, names that are not UTF-8 or
 * contain a tab/newline, and trees beyond the limits of `package-files.ts` are refused rather than followed.
 */

import { constants } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  decodeHex,
  KeyFileError,
  parsePublicKey,
  publicKeyOf,
  SIGNATURE_BYTES,
  signBytes,
  toHex,
  verifyBytes,
} from "./keys.ts";
import {
  DEFAULT_PACKAGE_LIMITS,
  hashListedFiles,
  lstatIfExists,
  PackageContentError,
  type PackageLimits,
  readSmallRegularFile,
  SmallFileError,
  walkPackage,
} from "./package-files.ts";
import { TrustStore } from "./trust.ts";

export const SIGNATURE_FILE = "signature.sig";
export const SIGNER_KEY_FILE = "signer.pub";

export interface DigestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface PackageDigest {
  /** SHA-256 of `text`: the message that is signed. */
  digest: Uint8Array;
  /** The canonical file list of SPEC 3.3, exactly the bytes that are hashed (as UTF-8). */
  text: string;
  files: DigestEntry[];
}

/**
 * Computes the SPEC 3.3 digest of the package at `dir`.
 * @throws PackageContentError when the tree holds a symlink, special file, bad name, or exceeds the limits.
 */
export async function packageDigest(dir: string, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): Promise<PackageDigest> {
  const tree = await walkPackage(dir, limits);
  const listed = tree.files.filter((f) => f.path !== SIGNATURE_FILE);
  const hashes = await hashListedFiles(dir, listed);
  const files = listed.map((f, i) => ({ path: f.path, sha256: hashes[i]!, size: f.size }));
  const text = files.map((f) => `${f.path}\t${f.sha256}\n`).join("");
  const digest = new Uint8Array(new Bun.CryptoHasher("sha256").update(text).digest());
  return { digest, text, files };
}

export interface SignResult {
  signatureFile: string;
  signerFile: string;
  publicKeyHex: string;
  digest: Uint8Array;
}

/**
 * Signs the package at `dir` with a 32-byte secret seed: writes `signer.pub`, then computes the digest (which
 * therefore covers `signer.pub`) and writes `signature.sig`. A tree with a symlink (including a symlinked
 * `signer.pub`) is refused before anything is written; both files are also replaced by rename, so even a link
 * swapped in meanwhile is replaced, never written through.
 * @throws PackageContentError for a tree that cannot be signed (see package-files.ts).
 */
export async function signPackage(dir: string, secretKey: Uint8Array, limits: PackageLimits = DEFAULT_PACKAGE_LIMITS): Promise<SignResult> {
  const publicKey = await publicKeyOf(secretKey);
  const publicKeyHex = toHex(publicKey);
  const signerFile = join(dir, SIGNER_KEY_FILE);
  const signatureFile = join(dir, SIGNATURE_FILE);
  // Refuse a tree that cannot be signed before touching it, so a failed sign leaves the package as it was.
  await walkPackage(dir, limits);
  await replaceFile(signerFile, publicKeyHex);
  const { digest } = await packageDigest(dir, limits);
  const signature = await signBytes(digest, secretKey);
  await replaceFile(signatureFile, toHex(signature));
  return { signatureFile, signerFile, publicKeyHex, digest };
}

/** Writes `text` to a fresh sibling file and renames it over `file`. */
async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}-${crypto.randomUUID()}`;
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/**
 * The verdict on a package. `trusted.signer.file` is the trust-store file that holds the key, or in explicit-key
 * mode the `keyFile` passed in (empty when none was). Every other status carries a message for people.
 */
export type VerifyOutcome =
  /**
   * `files` is the verified SPEC 3.3 list: a caller that later reads a file (the runtime loading its module)
   * compares the bytes it read with this hash, so a file swapped after verification is caught.
   */
  | { status: "trusted"; signer: { publicKeyHex: string; file: string }; files: readonly DigestEntry[] }
  | { status: "unsigned" | "tampered" | "untrusted" | "revoked" | "malformed"; message: string };

export type VerifyOptions =
  /**
   * Check against the trust store: trusted, untrusted, revoked, tampered. `undefined` checks integrity only
   * (against `signer.pub`): nothing is trusted, so the best outcome is "untrusted".
   */
  | { trustStore: TrustStore | undefined; limits?: PackageLimits }
  /**
   * Check against one key (`weft-pack verify --key`): trusted (= OK) or tampered/untrusted (= INVALID). With a
   * trust store as well, a revoked key is still reported as revoked.
   */
  | { publicKey: Uint8Array; keyFile?: string; trustStore?: TrustStore; limits?: PackageLimits }
  /** Check that the package is signed by the public half of `secretKey` (before building an image with it). */
  | { secretKey: Uint8Array; trustStore?: TrustStore; limits?: PackageLimits };

/** Signature and signer key as found in the package, before any hashing. */
type ReadSignature =
  | { kind: "ok"; signature: Uint8Array; signerKey: Uint8Array | undefined }
  | { kind: "outcome"; outcome: VerifyOutcome };

const MAX_SIGNATURE_FILE_BYTES = 4096;

function malformed(message: string): { kind: "outcome"; outcome: VerifyOutcome } {
  return { kind: "outcome", outcome: { status: "malformed", message } };
}

async function readPackageSmallFile(file: string): Promise<string> {
  return readSmallRegularFile(file, { noFollow: true, maxBytes: MAX_SIGNATURE_FILE_BYTES });
}

async function readSignatureFiles(dir: string): Promise<ReadSignature> {
  const signatureFile = join(dir, SIGNATURE_FILE);
  if ((await lstatIfExists(signatureFile)) === undefined) {
    return { kind: "outcome", outcome: { status: "unsigned", message: `${dir} is not signed: it has no ${SIGNATURE_FILE}` } };
  }
  let signatureText: string;
  try {
    signatureText = await readPackageSmallFile(signatureFile);
  } catch (error) {
    if (error instanceof SmallFileError) return malformed(`${signatureFile} is malformed: it ${error.reason}`);
    throw error;
  }
  const signature = decodeHex(signatureText, SIGNATURE_BYTES, "a 64-byte Ed25519 signature");
  if (typeof signature === "string") return malformed(`${signatureFile} is malformed: ${signature}`);

  const signerFile = join(dir, SIGNER_KEY_FILE);
  if ((await lstatIfExists(signerFile)) === undefined) return { kind: "ok", signature, signerKey: undefined };
  try {
    return { kind: "ok", signature, signerKey: parsePublicKey(await readPackageSmallFile(signerFile), signerFile) };
  } catch (error) {
    if (error instanceof KeyFileError) return malformed(`${error.file} is malformed: ${error.problem}`);
    if (error instanceof SmallFileError) return malformed(`${signerFile} is malformed: it ${error.reason}`);
    throw error;
  }
}

/**
 * Verifies the package at `dir`. Problems with the package itself (missing or malformed signature, symlinks,
 * limits) are outcomes, not exceptions; a `dir` that does not exist or cannot be read throws.
 */
export async function verifyPackage(dir: string, options: VerifyOptions): Promise<VerifyOutcome> {
  // Checked first: a missing directory would otherwise read as "unsigned" (no signature.sig in it).
  if (!(await stat(dir)).isDirectory()) throw new PackageContentError("not-a-directory", "", `${dir} is not a directory`);
  const read = await readSignatureFiles(dir);
  if (read.kind === "outcome") return read.outcome;
  const { signature, signerKey } = read;

  let computed: PackageDigest;
  try {
    computed = await packageDigest(dir, options.limits);
  } catch (error) {
    if (error instanceof PackageContentError && error.problem !== "not-a-directory") {
      return { status: "malformed", message: `${dir} cannot be verified: ${error.message}` };
    }
    throw error;
  }

  const { digest, files } = computed;
  let outcome: SignatureCheck;
  if ("publicKey" in options) outcome = await verifyWithKey(dir, options, signature, digest, signerKey);
  else if ("secretKey" in options) {
    const publicKey = await publicKeyOf(options.secretKey);
    outcome = await verifyWithKey(dir, { publicKey, trustStore: options.trustStore }, signature, digest, signerKey);
  } else outcome = await verifyWithStore(dir, options.trustStore ?? TrustStore.empty(), signature, digest, signerKey);
  return outcome.status === "trusted" ? { ...outcome, files } : outcome;
}

/** A verification outcome before the verified file list is attached. */
type SignatureCheck =
  | { status: "trusted"; signer: { publicKeyHex: string; file: string } }
  | Exclude<VerifyOutcome, { status: "trusted" }>;

async function verifyWithKey(
  dir: string,
  options: { publicKey: Uint8Array; keyFile?: string; trustStore?: TrustStore },
  signature: Uint8Array,
  digest: Uint8Array,
  signerKey: Uint8Array | undefined,
): Promise<SignatureCheck> {
  const publicKeyHex = toHex(options.publicKey);
  const keyName = options.keyFile ?? `key ${publicKeyHex}`;
  if (!(await verifyBytes(signature, digest, options.publicKey))) {
    if (signerKey !== undefined && (await verifyBytes(signature, digest, signerKey))) {
      return {
        status: "untrusted",
        message: `${dir} is signed by key ${toHex(signerKey)} (its ${SIGNER_KEY_FILE}), not by ${keyName}`,
      };
    }
    return {
      status: "tampered",
      message: `the signature of ${dir} does not match ${keyName}: the package was modified after it was signed, or signed with another key`,
    };
  }
  const revoked = options.trustStore?.revocationOf(publicKeyHex);
  if (revoked !== undefined) {
    return { status: "revoked", message: `${dir} is signed by key ${publicKeyHex}, which is revoked (${revoked.file})` };
  }
  return { status: "trusted", signer: { publicKeyHex, file: options.keyFile ?? "" } };
}

async function verifyWithStore(
  dir: string,
  store: TrustStore,
  signature: Uint8Array,
  digest: Uint8Array,
  signerKey: Uint8Array | undefined,
): Promise<SignatureCheck> {
  if (signerKey !== undefined) {
    const publicKeyHex = toHex(signerKey);
    if (!(await verifyBytes(signature, digest, signerKey))) {
      return {
        status: "tampered",
        message: `${dir} was modified after it was signed: its signature does not match its contents and the key in its ${SIGNER_KEY_FILE}`,
      };
    }
    const revoked = store.revocationOf(publicKeyHex);
    if (revoked !== undefined) {
      return { status: "revoked", message: `${dir} is signed by key ${publicKeyHex}, which is revoked (${revoked.file})` };
    }
    const trusted = store.trustOf(publicKeyHex);
    if (trusted !== undefined) return { status: "trusted", signer: { publicKeyHex, file: trusted.file } };
    return {
      status: "untrusted",
      message:
        `${dir} is signed by key ${publicKeyHex}, which is not trusted. If you trust its author, copy the key into ` +
        `${store.userTrustedDir()}/, e.g. cp ${join(dir, SIGNER_KEY_FILE)} ${store.userTrustedDir()}/<author>.pub`,
    };
  }

  // A package from the reference tools names no signer: the only way to find it is to try every key.
  for (const key of store.effectiveTrustedKeys()) {
    if (await verifyBytes(signature, digest, key.publicKey)) {
      return { status: "trusted", signer: { publicKeyHex: key.publicKeyHex, file: key.file } };
    }
  }
  for (const key of store.revoked) {
    if (await verifyBytes(signature, digest, key.publicKey)) {
      return { status: "revoked", message: `${dir} is signed by key ${key.publicKeyHex}, which is revoked (${key.file})` };
    }
  }
  return {
    status: "untrusted",
    message:
      `the signature of ${dir} matches no trusted key: either the package was modified after signing or its signer is ` +
      `not trusted (it has no ${SIGNER_KEY_FILE} naming its signer; verify it with weft-pack verify --key <author's .pub>)`,
  };
}
