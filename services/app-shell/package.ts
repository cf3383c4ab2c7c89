/**
 * The UI an app-shell serves: the package found in the store roots and verified against the trust store in
 * this process (appd verified too, but a file can change between two processes' checks), then every signed
 * file under the entry's directory read once and matched against the hash the verification saw. Only these
 * bytes are ever served: a file changed on disk after verification is refused at start, and one changed later
 * is never read again.
 *
 *   package/                    served (origin root = the entry's directory)
 *     wapp.toml                   no
 *     app.wasm                    no
 *     ui/index.html  ─────────►   /index.html   (entry)
 *     ui/style.css   ─────────►   /style.css
 */

import { dirname, join, posix } from "node:path";
import { readManifest } from "../common/package-check.ts";
import type { Env } from "../common/paths.ts";
import { verifyPackage } from "../common/signing.ts";
import { findPackage } from "../common/store.ts";
import { loadTrustStore } from "../common/trust.ts";
import { PackageLoadError, readRegularFile } from "../runtime/package.ts";

/** All UI files together, at most (they are held in memory for the session's lifetime). */
export const MAX_UI_BYTES = 128 * 1024 * 1024;

export interface VerifiedUi {
  dir: string;
  /** The entry page, relative to the served directory ("index.html"). */
  entry: string;
  /** Path relative to the served directory → the verified bytes. */
  files: Map<string, Uint8Array>;
  signerKey: string;
}

export { PackageLoadError };

export async function loadVerifiedUi(appId: string, env: Env = process.env): Promise<VerifiedUi> {
  const dir = findPackage(appId, env);
  if (dir === undefined) throw new PackageLoadError("not-installed", `${appId} is not installed: install it with \`weft-pack install <dir>\``);
  const outcome = await verifyPackage(dir, { trustStore: await loadTrustStore(env) });
  if (outcome.status !== "trusted") throw new PackageLoadError(outcome.status, `refusing to show ${appId}: ${outcome.message}`);
  const report = await readManifest(dir);
  if (report.manifest === undefined) {
    throw new PackageLoadError("invalid-package", `${dir}/wapp.toml is not valid: ${report.errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`);
  }
  if (report.manifest.package.id !== appId) throw new PackageLoadError("invalid-package", `${dir} declares package.id ${report.manifest.package.id}, not ${appId}`);

  // The manifest validator already refused absolute paths and "..": the entry is a normalised relative path.
  const entryPath = posix.normalize(report.manifest.ui.entry);
  const uiDir = posix.dirname(entryPath);
  if (uiDir === ".") {
    // Serving the package root would serve wapp.toml, the component and the signature files to the page.
    throw new PackageLoadError("invalid-package", `ui.entry ${JSON.stringify(entryPath)} must be inside a directory of the package (like ui/index.html)`);
  }
  const prefix = `${uiDir}/`;
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const signed of outcome.files) {
    if (!signed.path.startsWith(prefix)) continue;
    total += signed.size;
    if (total > MAX_UI_BYTES) throw new PackageLoadError("invalid-package", `the files under ${prefix} are larger than ${MAX_UI_BYTES} bytes together`);
    const path = join(dir, signed.path);
    const bytes = readRegularFile(path, MAX_UI_BYTES);
    const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    if (sha256 !== signed.sha256) throw new PackageLoadError("tampered", `${path} changed after the package was verified; refusing to show it`);
    files.set(signed.path.slice(prefix.length), bytes);
  }
  const entry = entryPath.slice(prefix.length);
  if (!files.has(entry)) throw new PackageLoadError("invalid-package", `${entryPath} is not among the signed files of ${dir}`);
  return { dir: dirname(join(dir, entryPath)), entry, files, signerKey: outcome.signer.publicKeyHex };
}
