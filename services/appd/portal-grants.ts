/**
 * The file-portal roots a session's capabilities grant (the capability table's `portal` grants), registered
 * with weft-file-portal before the runtime starts and revoked when the session stops, so appd can take them
 * away at any moment and the app's next access fails.
 *
 *   fs:rw:xdg-documents / fs:read:xdg-documents  →  root "xdg-documents" = $XDG_DOCUMENTS_DIR, else ~/Documents
 *                                                    (writable when either grant writes)
 */

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { requireCapability } from "../common/package/capabilities.ts";
import type { Env } from "../common/os/paths.ts";

/** `(name, host path, writable)`, as `org.weft.FilePortal1.RegisterGrants` takes them. */
export type PortalRoot = [string, string, boolean];

/** The host folder behind a portal source, or undefined when this machine has none. */
export function portalSourceDir(source: "xdg-documents", env: Env): string | undefined {
  const explicit = env.XDG_DOCUMENTS_DIR;
  const dir = explicit !== undefined && explicit.startsWith("/") ? explicit : env.HOME?.startsWith("/") ? join(env.HOME, "Documents") : undefined;
  return dir !== undefined && existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}

/** The roots for `capabilities` (names from a verified manifest); sources without a folder here are skipped. */
export function portalRoots(capabilities: readonly string[], env: Env): { roots: PortalRoot[]; missing: string[] } {
  const writable = new Map<string, boolean>();
  for (const name of capabilities) {
    const grant = requireCapability(name).definition.grant;
    if (grant.kind !== "portal") continue;
    writable.set(grant.source, (writable.get(grant.source) ?? false) || !grant.readOnly);
  }
  const roots: PortalRoot[] = [];
  const missing: string[] = [];
  for (const [source, canWrite] of writable) {
    const dir = portalSourceDir(source as "xdg-documents", env);
    if (dir === undefined) missing.push(source);
    else roots.push([source, dir, canWrite]);
  }
  return { roots, missing };
}
