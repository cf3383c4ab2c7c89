/**
 * The component a session runs: its package verified in this process (common/verified-package.ts), and the module
 * the manifest names read once and matched against the hash the verification saw.
 */

import { MAX_COMPONENT_BYTES } from "../common/component.ts";
import type { Manifest } from "../common/manifest.ts";
import type { Env } from "../common/paths.ts";
import { openVerifiedPackage } from "../common/verified-package.ts";

export { PackageLoadError } from "../common/verified-package.ts";

export interface LoadedPackage {
  dir: string;
  manifest: Manifest;
  /** The component, exactly the bytes whose SHA-256 the signature covers. */
  moduleBytes: Uint8Array;
  moduleSha256: string;
  signerKey: string;
}

export async function loadVerifiedPackage(appId: string, env: Env = process.env): Promise<LoadedPackage> {
  const pkg = await openVerifiedPackage(appId, "run", env);
  const { bytes, sha256 } = pkg.readSigned(pkg.manifest.runtime.module, MAX_COMPONENT_BYTES);
  return { dir: pkg.dir, manifest: pkg.manifest, moduleBytes: bytes, moduleSha256: sha256, signerKey: pkg.signerKey };
}
