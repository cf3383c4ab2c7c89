/**
 * The package store: finding, listing, installing and removing packages under the store roots (SPEC 2.0).
 *
 * Install is atomic. Everything happens under `<root>/.weft-lock` (flock), in a staging directory on the same
 * filesystem as the store:
 *
 *   source ──copy/unbundle──► <root>/.weft-staging-XXXX/<id>   (regular files and dirs only, fsynced)
 *                                   │ check manifest + component, verify signature of the STAGED copy
 *                                   │ (so a source changed after verification cannot slip in)
 *                                   ▼
 *   new install:  renameat2(staged, <root>/<id>, RENAME_NOREPLACE)
 *   upgrade:      renameat2(staged, <root>/<id>, RENAME_EXCHANGE)  → the old tree is now in staging, removed
 *
 * A rename is the only step that changes what `<root>/<id>` is, so an interrupted install leaves the old
 * version or the new one, never a mix; leftover staging directories are removed by the next install.
 */

import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
  existsSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import type { AppId } from "../../../protocol/app-id.ts";
import { unbundleArchive } from "./archive.ts";
import { describeCapability } from "./capabilities.ts";
import type { Manifest } from "./manifest.ts";
import { checkPackage, readManifest, type Diagnostic } from "./package-check.ts";
import { openListedFile, walkPackage } from "./package-files.ts";
import { lockExclusive, RENAME_EXCHANGE, RENAME_NOREPLACE, renameat2 } from "../os/libc.ts";
import { type Env, storeRoots } from "../os/paths.ts";
import { compareSemVer, parseSemVer } from "./semver.ts";
import { verifyPackage, type VerifyOutcome } from "./signing.ts";
import type { TrustStore } from "./trust.ts";

const STAGING_PREFIX = ".weft-staging-";
const LOCK_FILE = ".weft-lock";

/** Why an install or uninstall was refused; `reason` is stable for scripts (`--json`), `message` for people. */
export class StoreError extends Error {
  constructor(
    readonly reason:
      | "invalid-package"
      | "unsigned"
      | "tampered"
      | "untrusted"
      | "revoked"
      | "malformed"
      | "new-capabilities"
      | "downgrade"
      | "not-installed",
    message: string,
    readonly details: Diagnostic[] = [],
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export interface InstalledPackage {
  id: string;
  name: string;
  version: string;
  dir: string;
  root: string;
}

/** The directory of installed package `appId`: the first store root holding `<id>/wapp.toml`. */
export function findPackage(appId: AppId, env: Env = process.env): string | undefined {
  for (const root of storeRoots(env)) {
    const dir = join(root, appId);
    if (existsSync(join(dir, "wapp.toml"))) return dir;
  }
  return undefined;
}

export interface ListResult {
  packages: InstalledPackage[];
  /** Entries that look like packages but could not be read; listed so nothing disappears silently. */
  problems: { dir: string; message: string }[];
}

/** Every installed package, first root wins per id, sorted by id within a root (SPEC 3.2 `list`). */
export async function listInstalled(env: Env = process.env): Promise<ListResult> {
  const packages: InstalledPackage[] = [];
  const problems: ListResult["problems"] = [];
  const seen = new Set<string>();
  for (const root of storeRoots(env)) {
    let names: string[];
    try {
      names = readdirSync(root).filter((n) => !n.startsWith("."));
    } catch {
      continue; // a root that does not exist holds no packages
    }
    const inRoot: InstalledPackage[] = [];
    for (const name of names.sort()) {
      const dir = join(root, name);
      if (!existsSync(join(dir, "wapp.toml"))) continue;
      const result = await readManifest(dir);
      if (result.manifest === undefined) {
        problems.push({ dir, message: result.errors.map((e) => `${e.field}: ${e.message}`).join("; ") });
        continue;
      }
      const { id, name: appName, version } = result.manifest.package;
      if (id !== name) {
        problems.push({ dir, message: `its manifest says package.id = ${id}, but it is installed as ${name}` });
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      inRoot.push({ id, name: appName, version, dir, root });
    }
    packages.push(...inRoot);
  }
  return { packages, problems };
}

export interface InstallOptions {
  /** A package directory or a `.app.tar.zst` bundle. */
  source: string;
  root: string;
  /** The trust store the staged copy is verified against, always: even in development a revoked key must show. */
  trustStore: TrustStore;
  /** Development: accept unsigned, untrusted or modified packages (never revoked ones). */
  allowUntrusted?: boolean;
  acceptCapabilities?: boolean;
  allowDowngrade?: boolean;
}

export interface InstallResult {
  id: string;
  name: string;
  version: string;
  dir: string;
  previousVersion?: string;
  capabilities: { name: string; meaning: string }[];
  /** Capabilities this install adds over the previous version (all of them on a first install). */
  addedCapabilities: string[];
  verification: VerifyOutcome;
  warnings: Diagnostic[];
}

export async function installPackage(options: InstallOptions): Promise<InstallResult> {
  mkdirSync(options.root, { recursive: true, mode: 0o755 });
  return withStoreLock(options.root, async () => {
    removeLeftovers(options.root);
    const staging = mkdtempSync(join(options.root, STAGING_PREFIX));
    try {
      const staged = await stage(options.source, staging);
      return await installStaged(staged, options);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
}

async function installStaged(staged: string, options: InstallOptions): Promise<InstallResult> {
  const report = await checkPackage(staged);
  if (report.errors.length > 0 || report.manifest === undefined) {
    throw new StoreError("invalid-package", "the package is not valid (run `weft-pack check <dir>` for details)", report.errors);
  }
  const manifest = report.manifest;
  const verification = await verifyStaged(staged, options.trustStore, options.allowUntrusted === true);

  const dest = join(options.root, manifest.package.id);
  const previous = existsSync(join(dest, "wapp.toml")) ? (await readManifest(dest)).manifest : undefined;
  const addedCapabilities = newCapabilities(manifest, previous);
  if (previous !== undefined && addedCapabilities.length > 0 && options.acceptCapabilities !== true) {
    throw new StoreError(
      "new-capabilities",
      `${manifest.package.id} ${manifest.package.version} asks for capabilities that ${previous.package.version} did not have: ` +
        `${addedCapabilities.join(", ")}; review them and install again with --accept-capabilities`,
    );
  }
  if (previous !== undefined) refuseDowngrade(manifest, previous, options.allowDowngrade === true);

  syncTree(staged);
  if (existsSync(dest)) {
    renameat2(staged, dest, RENAME_EXCHANGE); // the old tree now sits at `staged` and goes with the staging dir
  } else {
    renameat2(staged, dest, RENAME_NOREPLACE);
  }
  syncDir(options.root);

  return {
    id: manifest.package.id,
    name: manifest.package.name,
    version: manifest.package.version,
    dir: dest,
    previousVersion: previous?.package.version,
    capabilities: manifest.package.capabilities.map((c) => ({ name: c.name, meaning: describeCapability(c) })),
    addedCapabilities,
    verification,
    warnings: report.warnings,
  };
}

async function verifyStaged(dir: string, trustStore: TrustStore, allowUntrusted: boolean): Promise<VerifyOutcome> {
  const outcome = await verifyPackage(dir, { trustStore });
  if (outcome.status === "trusted") return outcome;
  // Revocation means the key is known to be compromised: no development switch overrides that.
  if (allowUntrusted && outcome.status !== "revoked") return outcome;
  throw new StoreError(outcome.status, outcome.message);
}

function newCapabilities(manifest: Manifest, previous: Manifest | undefined): string[] {
  const before = new Set(previous?.package.capabilities.map((c) => c.name) ?? []);
  return manifest.package.capabilities.map((c) => c.name).filter((name) => !before.has(name));
}

function refuseDowngrade(manifest: Manifest, previous: Manifest, allowed: boolean): void {
  const next = parseSemVer(manifest.package.version);
  const current = parseSemVer(previous.package.version);
  // An installed version that is not semver (installed by an older tool) cannot be ordered: allow replacing it.
  if (allowed || next === undefined || current === undefined || compareSemVer(next, current) >= 0) return;
  throw new StoreError(
    "downgrade",
    `${manifest.package.id} ${previous.package.version} is installed and ${manifest.package.version} is older; ` +
      "an older signed version may have known flaws: pass --allow-downgrade if you mean it",
  );
}

/** Puts the package at `<staging>/<id-or-pkg>`: a copy of a directory, or the content of a bundle. */
async function stage(source: string, staging: string): Promise<string> {
  const info = statSync(source);
  if (info.isDirectory()) {
    const staged = join(staging, "package");
    await copyTree(source, staged);
    return staged;
  }
  const { dir } = await unbundleArchive(source, staging);
  return dir;
}

/**
 * Copies the package the way signing sees it: `walkPackage` admits regular files and directories only (a
 * symlink, device, socket or FIFO is refused, since a link could make the installed tree differ from what
 * was signed) and enforces the size limits, so a hostile source cannot fill the disk through us.
 */
async function copyTree(from: string, to: string): Promise<void> {
  const tree = await walkPackage(from);
  mkdirSync(to, { mode: 0o755 });
  for (const dir of tree.directories) mkdirSync(join(to, dir), { mode: 0o755 });
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const file of tree.files) {
    // Opened with O_NOFOLLOW and re-checked: a file swapped for a link or FIFO since the walk is refused.
    const input = await openListedFile(join(from, file.path), file.path, file.size);
    const output = openSync(join(to, file.path), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        let written = 0;
        while (written < bytesRead) written += writeSync(output, buffer, written, bytesRead - written);
      }
      fsyncSync(output);
    } finally {
      await input.close();
      closeSync(output);
    }
  }
}

/** fsyncs every directory of a tree (files were synced as they were written) so a rename publishes durable data. */
function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) syncTree(join(dir, entry.name));
  }
  syncDir(dir);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeLeftovers(root: string): void {
  for (const name of readdirSync(root)) {
    if (name.startsWith(STAGING_PREFIX)) rmSync(join(root, name), { recursive: true, force: true });
  }
}

async function withStoreLock<T>(root: string, body: () => Promise<T>): Promise<T> {
  const fd = openSync(join(root, LOCK_FILE), constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    lockExclusive(fd);
    return await body();
  } finally {
    closeSync(fd); // closing the last fd of the open file description releases the flock
  }
}

/**
 * Removes an installed package from `root` (never from the system root). The tree is first renamed away under
 * the lock, so readers see the package or nothing. App data is kept unless the caller removes it.
 */
export async function uninstallPackage(appId: AppId, root: string): Promise<string> {
  const dir = join(root, appId);
  if (!existsSync(root) || !existsSync(dir)) {
    throw new StoreError("not-installed", `${appId} is not installed in ${root} (see \`weft-pack list\`)`);
  }
  return withStoreLock(root, async () => {
    if (!existsSync(dir)) throw new StoreError("not-installed", `${appId} is not installed in ${root}`);
    const trash = mkdtempSync(join(root, STAGING_PREFIX));
    renameat2(dir, join(trash, appId), RENAME_NOREPLACE);
    syncDir(root);
    rmSync(trash, { recursive: true, force: true });
    return dir;
  });
}
