/**
 * The apps that were running when appd last stopped cleanly (SPEC 2.2.2): written to
 * `$XDG_RUNTIME_DIR/weft/last-session.json` at shutdown, read and deleted at start, and relaunched.
 *
 * The file is input like any other: anything of the same user could have written it. It is opened without
 * following a symlink and without blocking on a FIFO, must be a small regular file, and must be a JSON array
 * of strings; each string must be a valid app id (others are skipped and logged), and at most
 * MAX_RESTORED_SESSIONS are relaunched.
 */

import { closeSync, constants, fstatSync, openSync, readSync, renameSync, unlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { appIdProblem } from "../../protocol/app-id.ts";
import type { Logger } from "../common/daemon/log.ts";

export const LAST_SESSION_FILE = "last-session.json";
export const MAX_LAST_SESSION_BYTES = 64 * 1024;
export const MAX_RESTORED_SESSIONS = 32;

const fileSchema = v.array(v.string());

export function lastSessionPath(weftRuntimeDir: string): string {
  return join(weftRuntimeDir, LAST_SESSION_FILE);
}

/** Writes the ids atomically (temporary file, then rename), readable by the user only. */
export function writeLastSession(weftRuntimeDir: string, appIds: readonly string[]): void {
  mkdirSync(weftRuntimeDir, { recursive: true, mode: 0o700 });
  const file = lastSessionPath(weftRuntimeDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(appIds) + "\n", { mode: 0o600 });
  renameSync(temporary, file);
}

/**
 * Reads and deletes the file; returns the app ids to relaunch (empty when there is no file or it is refused).
 * Deleted first whatever it holds, so a file that makes appd fail cannot make it fail again at every start.
 */
export function takeLastSession(weftRuntimeDir: string, log: Logger): string[] {
  const file = lastSessionPath(weftRuntimeDir);
  let text: string;
  try {
    text = readSmallFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    log.warn("ignoring the last session file", { file, error: (error as Error).message });
    removeQuietly(file);
    return [];
  }
  removeQuietly(file);

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    log.warn("ignoring the last session file: it is not JSON", { file });
    return [];
  }
  const result = v.safeParse(fileSchema, parsed);
  if (!result.success) {
    log.warn("ignoring the last session file: it is not a JSON array of app ids", { file });
    return [];
  }
  const ids: string[] = [];
  for (const id of result.output) {
    const problem = appIdProblem(id);
    if (problem !== undefined) {
      log.warn("skipping an entry of the last session file", { entry: id.slice(0, 64), problem });
      continue;
    }
    if (ids.length === MAX_RESTORED_SESSIONS) {
      log.warn("the last session file lists too many sessions; relaunching the first ones only", { limit: MAX_RESTORED_SESSIONS });
      break;
    }
    ids.push(id);
  }
  return ids;
}

class NotRegularError extends Error {}

function readSmallFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new NotRegularError("it is not a regular file");
    if (info.size > MAX_LAST_SESSION_BYTES) throw new NotRegularError(`it is larger than ${MAX_LAST_SESSION_BYTES} bytes`);
    const bytes = Buffer.alloc(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return bytes.subarray(0, offset).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
