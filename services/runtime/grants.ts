/**
 * What a session's capabilities grant at run time, derived from the capability table
 * (services/common/package/capabilities.ts) and nothing else. Preopens are the only filesystem the guest sees; the
 * portal roots (`fs:*:xdg-documents`) are served by weft-file-portal through `weft:app/files` (issue 4).
 */

import { mkdirSync } from "node:fs";
import type { Capability } from "../common/package/capabilities.ts";
import { appDataDir, type Env } from "../common/os/paths.ts";
import type { AppId } from "../../protocol/app-id.ts";

export interface Preopen {
  hostPath: string;
  guestPath: string;
  writable: boolean;
}

/**
 * The WASI preopens for `capabilities`. `fs:rw:app-data` and `fs:read:app-data` map to one `/data`, writable
 * when either grants writing. The data directory is created (mode 0700: other users must not read app data).
 */
export function preopensFor(appId: AppId, capabilities: readonly Capability[], env: Env = process.env): Preopen[] {
  let appData: Preopen | undefined;
  for (const capability of capabilities) {
    const grant = capability.definition.grant;
    if (grant.kind !== "preopen") continue;
    appData ??= { hostPath: appDataDir(appId, env), guestPath: grant.guestPath, writable: false };
    appData.writable ||= !grant.readOnly;
  }
  if (appData === undefined) return [];
  mkdirSync(appData.hostPath, { recursive: true, mode: 0o700 });
  return [appData];
}
