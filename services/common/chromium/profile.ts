/**
 * Where a session's app-shell keeps its Chromium profile: a directory per session,
 * `$XDG_RUNTIME_DIR/weft/app-shell/<session_id>/` (the temp dir when there is no XDG_RUNTIME_DIR). The app-shell
 * removes its profile when it ends; if it is killed before it can, appd removes the session's directory when the
 * session stops, so nothing of a session stays behind. Both find it here.
 */

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesNaming } from "../os/processes.ts";

export function profileParentFor(sessionId: bigint, env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "weft", "app-shell") : join(tmpdir(), `weft-app-shell-${process.getuid?.() ?? "user"}`);
  return join(base, String(sessionId));
}

/**
 * Removes whatever a session's app-shell left of its profile (after it was killed). A Chromium that is still
 * going away (its parent-death signal is on its way) could write into the directory after it was removed, so
 * any process whose command line names the directory is killed and waited for first.
 */
export async function removeSessionProfiles(sessionId: bigint, env: Record<string, string | undefined> = process.env): Promise<void> {
  const dir = profileParentFor(sessionId, env);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const users = processesNaming(dir);
    if (users.length === 0 || Date.now() > deadline) break;
    for (const pid of users) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Bun.sleep(20);
  }
  rmSync(dir, { recursive: true, force: true });
}
