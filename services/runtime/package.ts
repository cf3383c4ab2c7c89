/**
 * The component a session runs: its package as the supervisor verified it (the record on --package-fd), or as
 * this process verifies it (the install-time precompile, which has no supervisor), and the module the manifest
 * names read once and matched against the hash the verification saw (common/package/verified-package.ts).
 */

import { MAX_COMPONENT_BYTES } from "../common/package/component.ts";
import type { Manifest } from "../common/package/manifest.ts";
import type { AppId } from "../../protocol/app-id.ts";
import type { Env } from "../common/os/paths.ts";
import { openVerifiedPackage, receiveVerifiedPackage, type VerifiedPackage } from "../common/package/verified-package.ts";

export { PackageLoadError } from "../common/package/verified-package.ts";

export interface LoadedPackage {
  dir: string;
  manifest: Manifest;
  /** The component, exactly the bytes whose SHA-256 the signature covers. */
  moduleBytes: Uint8Array;
  moduleSha256: string;
  signerKey: string;
}

/** The session's package from the record its supervisor handed over on `packageFd`. */
export function receivePackage(packageFd: number, appId: AppId): LoadedPackage {
  return loaded(receiveVerifiedPackage(packageFd, appId, "run"));
}

/** `appId`'s package verified here, for a process without a supervisor. */
export async function verifyInstalledPackage(appId: AppId, env: Env = process.env): Promise<LoadedPackage> {
  return loaded(await openVerifiedPackage(appId, "run", env));
}

function loaded(pkg: VerifiedPackage): LoadedPackage {
  const { bytes, sha256 } = pkg.readSigned(pkg.manifest.runtime.module, MAX_COMPONENT_BYTES);
  return { dir: pkg.dir, manifest: pkg.manifest, moduleBytes: bytes, moduleSha256: sha256, signerKey: pkg.signerKey };
}
