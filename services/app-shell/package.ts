/**
 * The UI an app-shell serves: the package as its supervisor verified it (the record on --package-fd), then every
 * signed file under the entry's directory read once and matched against the hash the verification saw
 * (common/package/verified-package.ts). Only these bytes are ever served: a file changed on disk after verification is
 * refused at start, and one changed later is never read again.
 *
 *   package/                    served (origin root = the entry's directory)
 *     wapp.toml                   no
 *     app.wasm                    no
 *     ui/index.html  ─────────►   /index.html   (entry)
 *     ui/style.css   ─────────►   /style.css
 */

import { dirname, join, posix } from "node:path";
import type { AppId } from "../../protocol/app-id.ts";
import { PackageLoadError, receiveVerifiedPackage } from "../common/package/verified-package.ts";

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

export function receiveVerifiedUi(packageFd: number, appId: AppId): VerifiedUi {
  const pkg = receiveVerifiedPackage(packageFd, appId, "show");
  // The manifest validator already refused absolute paths and "..": the entry is a normalised relative path.
  const entryPath = posix.normalize(pkg.manifest.ui.entry);
  const uiDir = posix.dirname(entryPath);
  if (uiDir === ".") {
    // Serving the package root would serve wapp.toml, the component and the signature files to the page.
    throw new PackageLoadError("invalid-package", `ui.entry ${JSON.stringify(entryPath)} must be inside a directory of the package (like ui/index.html)`);
  }
  const prefix = `${uiDir}/`;
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const signed of pkg.signedFiles) {
    if (!signed.path.startsWith(prefix)) continue;
    total += signed.size;
    if (total > MAX_UI_BYTES) throw new PackageLoadError("invalid-package", `the files under ${prefix} are larger than ${MAX_UI_BYTES} bytes together`);
    files.set(signed.path.slice(prefix.length), pkg.readSigned(signed.path, MAX_UI_BYTES).bytes);
  }
  const entry = entryPath.slice(prefix.length);
  if (!files.has(entry)) throw new PackageLoadError("invalid-package", `${entryPath} is not among the signed files of ${pkg.dir}`);
  return { dir: dirname(join(pkg.dir, entryPath)), entry, files, signerKey: pkg.signerKey };
}
