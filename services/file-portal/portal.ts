/**
 * The portal's policy: who may call what, which root a path falls in, and the log line of every access and
 * every refusal. The D-Bus surface (interface.ts) hands each call here with the caller's unique name from
 * the bus; nothing about who is calling comes from an argument.
 *
 *   RegisterGrants / RevokeGrants   the owner of org.weft.AppD1
 *   Read Write List Stat Remove Mkdir (session N, path)
 *                                   the owner of org.weft.Runtime1.S<N>, on N's roots
 *
 * When org.weft.AppD1 changes hands (appd exits or crashes), every grant is dropped: a new appd numbers its
 * sessions afresh, and its session 1 must not inherit the old session 1's folders.
 */

import type { Logger } from "../common/daemon/log.ts";
import { PortalError } from "./errors.ts";
import type { GrantTable } from "./grants.ts";
import type { NameOwners } from "./owners.ts";
import { parseGuestPath } from "./paths.ts";
import type { EntryInfo, GrantedRoot, ListEntry, RootLimits, RootPath } from "./root.ts";
import { AppD, Runtime } from "../../protocol/dbus/index.ts";

export const MAX_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_LIST_ENTRIES = 10_000;
export const DEFAULT_LIMITS: RootLimits = { maxFileBytes: MAX_FILE_BYTES, maxListEntries: MAX_LIST_ENTRIES };


export type FileOperation = "read" | "write" | "list" | "stat" | "remove" | "mkdir";

/** A path fit for a log line: long ones cut, control characters visible (the logger quotes the rest). */
function loggable(path: string): string {
  const cut = path.length > 256 ? `${path.slice(0, 256)}…` : path;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export class FilePortal {
  readonly #grants: GrantTable;
  readonly #owners: NameOwners;
  readonly #log: Logger;
  readonly limits: RootLimits;

  constructor(grants: GrantTable, owners: NameOwners, log: Logger, limits: RootLimits = DEFAULT_LIMITS) {
    this.#grants = grants;
    this.#owners = owners;
    this.#log = log;
    this.limits = limits;
    owners.onChange((name, oldOwner) => {
      if (name !== AppD.busName || oldOwner === "") return;
      const dropped = this.#grants.clear();
      this.#log.warn("appd left the bus: every grant dropped", { appd: oldOwner, sessions: dropped });
    });
  }

  async registerGrants(sender: string, sessionId: bigint, roots: unknown): Promise<void> {
    const fields = { session: String(sessionId), op: "register-grants", caller: sender };
    try {
      await this.#requireAppd(sender, "register grants");
      const grants = this.#grants.register(sessionId, roots);
      this.#log.info("grants registered", { ...fields, roots: grants.describe() });
    } catch (error) {
      throw this.#refused(error, fields);
    }
  }

  async revokeGrants(sender: string, sessionId: bigint): Promise<void> {
    const fields = { session: String(sessionId), op: "revoke-grants", caller: sender };
    try {
      await this.#requireAppd(sender, "revoke grants");
      const had = this.#grants.revoke(sessionId);
      this.#log.info("grants revoked", { ...fields, had });
    } catch (error) {
      throw this.#refused(error, fields);
    }
  }

  read(sender: string, sessionId: bigint, path: string): Promise<Buffer> {
    return this.#access(sender, sessionId, "read", path, (root, at) => root.read(at, this.limits), (data) => ({ bytes: data.length }));
  }

  write(sender: string, sessionId: bigint, path: string, data: Uint8Array): Promise<void> {
    return this.#access(sender, sessionId, "write", path, (root, at) => root.write(at, data, this.limits), () => ({ bytes: data.length }));
  }

  list(sender: string, sessionId: bigint, path: string): Promise<ListEntry[]> {
    return this.#access(sender, sessionId, "list", path, (root, at) => root.list(at, this.limits), (entries) => ({ entries: entries.length }));
  }

  stat(sender: string, sessionId: bigint, path: string): Promise<EntryInfo> {
    return this.#access(sender, sessionId, "stat", path, (root, at) => root.stat(at));
  }

  remove(sender: string, sessionId: bigint, path: string): Promise<void> {
    return this.#access(sender, sessionId, "remove", path, (root, at) => root.remove(at));
  }

  mkdir(sender: string, sessionId: bigint, path: string): Promise<void> {
    return this.#access(sender, sessionId, "mkdir", path, (root, at) => root.mkdir(at));
  }

  /**
   * Checks the caller, then finds the root and runs `work` without yielding in between: a RevokeGrants
   * cannot close the root's directory under a running operation.
   */
  async #access<T>(
    sender: string,
    sessionId: bigint,
    op: FileOperation,
    rawPath: string,
    work: (root: GrantedRoot, path: RootPath) => T,
    summary: (result: T) => Record<string, unknown> = () => ({}),
  ): Promise<T> {
    const fields = { session: String(sessionId), op, path: loggable(rawPath), caller: sender };
    try {
      const runtime = Runtime.busName(sessionId);
      if (!(await this.#owners.isOwner(runtime, sender))) {
        throw new PortalError("AccessDenied", `only session ${sessionId}'s runtime (the owner of ${runtime}) may use its file grants`);
      }
      const grants = this.#grants.get(sessionId);
      if (grants === undefined) {
        throw new PortalError("NotGranted", `session ${sessionId} has no file grants (none were registered, or they were revoked)`);
      }
      const path = parseGuestPath(rawPath);
      const located = grants.locate(path);
      if (located === undefined) {
        throw new PortalError("NotGranted", `${path.text} is not under a root granted to session ${sessionId} (granted: ${grants.describe()})`);
      }
      const result = work(located.root, located.path);
      this.#log.info("access", { ...fields, root: located.root.name, ...summary(result) });
      return result;
    } catch (error) {
      throw this.#refused(error, fields);
    }
  }

  async #requireAppd(sender: string, what: string): Promise<void> {
    if (!(await this.#owners.isOwner(AppD.busName, sender))) {
      throw new PortalError("AccessDenied", `only appd (the owner of ${AppD.busName}) may ${what}`);
    }
  }

  /** Logs a refusal with what was asked; other errors are bugs, passed on for the kit to report as Internal. */
  #refused(error: unknown, fields: Record<string, unknown>): unknown {
    if (error instanceof PortalError) this.#log.warn("denied", { ...fields, error: error.errorName, reason: error.message });
    return error;
  }
}
