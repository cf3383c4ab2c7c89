/**
 * EROFS images under dm-verity: `build-image` and the image half of `verify`.
 *
 * An image set is four files with one stem, side by side (the reference's `build-image`/`build-verity` pair
 * produced names appd never looked for — SPEC 9 item 8):
 *
 *   <id>.app.img        EROFS image of the signed package directory (signature.sig included, so the mounted
 *                       tree is itself a verifiable package)
 *   <id>.app.hash       dm-verity hash tree of the image
 *   <id>.app.roothash   the verity root hash, lowercase hex, no newline
 *   <id>.app.sig        Ed25519 signature, hex, by the package's key, over the image statement below
 *
 * The statement is the SPEC 3.3 text of a one-file "package" made of the root hash file: the line
 * `<id>.app.roothash<TAB>sha256(root hash file)\n`, hashed with SHA-256 and signed. So the signature vouches
 * for the root hash (and, through the file name, for the app id), and the root hash vouches for every block
 * of the image. Nothing needs to read the whole image at mount time.
 *
 * Builds are reproducible: fixed timestamps and owners in EROFS, no xattrs from the build machine, and UUIDs
 * and salt derived from the package signature.
 */

import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { signBytes, verifyBytes } from "../common/package/keys.ts";
import { CliError, ExitCode } from "./cli.ts";

export interface ImagePaths {
  image: string;
  hashTree: string;
  rootHashFile: string;
  signature: string;
}

export function imagePaths(outDir: string, appId: string): ImagePaths {
  const stem = join(outDir, `${appId}.app`);
  return { image: `${stem}.img`, hashTree: `${stem}.hash`, rootHashFile: `${stem}.roothash`, signature: `${stem}.sig` };
}

/** The image set an `<id>.app.img` path belongs to, or undefined if the name does not have that shape. */
export function imagePathsFor(imageFile: string): { appId: string; paths: ImagePaths } | undefined {
  const name = basename(imageFile);
  if (!name.endsWith(".app.img")) return undefined;
  const appId = name.slice(0, -".app.img".length);
  return { appId, paths: imagePaths(dirname(imageFile), appId) };
}

/** SHA-256 of the SPEC 3.3 text for the one-entry set {root hash file}: the message the image key signs. */
export function imageStatementDigest(appId: string, rootHashFileBytes: Uint8Array): Uint8Array {
  const fileHash = new Bun.CryptoHasher("sha256").update(rootHashFileBytes).digest("hex");
  const text = `${appId}.app.roothash\t${fileHash}\n`;
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(text).digest());
}

async function run(command: string[], what: string): Promise<string> {
  let child;
  try {
    child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  } catch {
    throw new CliError(
      ExitCode.environment,
      "missing-tool",
      `${command[0]} is not installed; it comes with Debian's ${command[0] === "mkfs.erofs" ? "erofs-utils" : "cryptsetup-bin"} package (scripts/setup.sh installs it)`,
    );
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new CliError(ExitCode.rejected, "tool-failed", `${what} failed (${command[0]} exit ${code}): ${stderr.trim()}`);
  return stdout;
}

function uuidFrom(seed: string, label: string): string {
  const hex = new Bun.CryptoHasher("sha256").update(`${label}\0${seed}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface BuildImageResult extends ImagePaths {
  rootHash: string;
}

/**
 * Builds the image set for a checked, signed package directory. All four files appear together or not at
 * all: they are built in a temporary directory beside the output and renamed into place at the end.
 */
export async function buildImage(
  packageDir: string,
  appId: string,
  secretKey: Uint8Array,
  outDir: string,
): Promise<BuildImageResult> {
  const paths = imagePaths(outDir, appId);
  for (const path of Object.values(paths)) {
    if (existsSync(path)) throw new CliError(ExitCode.rejected, "exists", `${path} already exists; remove it or choose another --out`);
  }
  const seed = readFileSync(join(packageDir, "signature.sig"), "utf8").trim();
  const work = mkdtempSync(join(outDir, ".weft-image-"));
  try {
    const staged = imagePaths(work, appId);
    await run(
      ["mkfs.erofs", "--quiet", "-T0", "--all-root", "-x-1", `-U${uuidFrom(seed, "erofs")}`, staged.image, packageDir],
      "building the EROFS image",
    );
    const salt = new Bun.CryptoHasher("sha256").update(`verity-salt\0${seed}`).digest("hex");
    const formatted = await run(
      ["veritysetup", "format", `--salt=${salt}`, `--uuid=${uuidFrom(seed, "verity")}`, staged.image, staged.hashTree],
      "computing the dm-verity hash tree",
    );
    const rootHash = /^Root hash:\s*([0-9a-f]+)\s*$/m.exec(formatted)?.[1];
    if (rootHash === undefined) {
      throw new CliError(ExitCode.internal, "tool-output", `veritysetup printed no root hash:\n${formatted}`);
    }
    writeFileSync(staged.rootHashFile, rootHash);
    const signature = await signBytes(imageStatementDigest(appId, Buffer.from(rootHash)), secretKey);
    writeFileSync(staged.signature, Buffer.from(signature).toString("hex"));
    for (const key of ["image", "hashTree", "rootHashFile", "signature"] as const) renameSync(staged[key], paths[key]);
    return { ...paths, rootHash };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export type ImageCheck =
  | { status: "ok"; rootHash: string; publicKey: Uint8Array }
  | { status: "bad-signature" | "bad-image" | "incomplete"; message: string };

/**
 * Verifies an image set: the signature over the root hash with one of `keys`, then every block of the image
 * and hash tree against the root hash (`veritysetup verify`, user space, no device mapper needed).
 */
export async function verifyImage(imageFile: string, keys: Uint8Array[]): Promise<ImageCheck> {
  const found = imagePathsFor(imageFile);
  if (found === undefined) return { status: "incomplete", message: `${imageFile} is not named <app_id>.app.img` };
  const { appId, paths } = found;
  for (const path of Object.values(paths)) {
    if (!existsSync(path)) return { status: "incomplete", message: `${path} is missing: an image set has four files (.img .hash .roothash .sig)` };
  }
  const rootHashBytes = readFileSync(paths.rootHashFile);
  const rootHash = rootHashBytes.toString("utf8");
  if (!/^[0-9a-f]{64}$/.test(rootHash)) return { status: "bad-image", message: `${paths.rootHashFile} is not a 64-digit hex root hash` };
  const signatureHex = readFileSync(paths.signature, "utf8").trim();
  if (!/^[0-9a-f]{128}$/.test(signatureHex)) return { status: "bad-signature", message: `${paths.signature} is not a 128-digit hex signature` };
  const digest = imageStatementDigest(appId, rootHashBytes);
  const signature = Buffer.from(signatureHex, "hex");
  let signer: Uint8Array | undefined;
  for (const key of keys) {
    if (await verifyBytes(signature, digest, key)) {
      signer = key;
      break;
    }
  }
  if (signer === undefined) {
    return { status: "bad-signature", message: `the signature on ${paths.rootHashFile} matches no given key: the root hash was changed or signed by another key` };
  }
  const verity = Bun.spawn(["veritysetup", "verify", paths.image, paths.hashTree, rootHash], { stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(verity.stderr).text(), verity.exited]);
  if (code !== 0) return { status: "bad-image", message: `the image does not match its signed root hash: ${stderr.trim()}` };
  return { status: "ok", rootHash, publicKey: signer };
}
