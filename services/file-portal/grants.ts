/**
 * Which roots each session has. appd registers a session's roots (RegisterGrants) and revokes them
 * (RevokeGrants); the portal holds each root's directory open from registration to revocation.
 *
 *   GrantTable ──session id──► SessionGrants ──► GrantedRoot (name, guest prefix, writable, held dirfd) × ≤ 16
 *
 * A registration is validated whole (valibot, at the edge) and opened whole before it replaces anything: a
 * bad root leaves the session's previous grants as they were, and nothing half-open behind.
 */

import * as v from "valibot";
import { PortalError } from "./errors.ts";
import { guestPrefixSegments, MAX_PATH_BYTES, rootNameProblem, type GuestPath } from "./paths.ts";
import { GrantedRoot, type RootPath } from "./root.ts";

export const MAX_ROOTS_PER_SESSION = 16;

/** One root as RegisterGrants receives it: `(s name, s host_path, b writable)`. */
export type RootSpec = [name: string, hostPath: string, writable: boolean];

const rootSpecSchema = v.tuple([
  v.pipe(
    v.string(),
    v.check((name) => rootNameProblem(name) === undefined, (issue) => `root name ${JSON.stringify(issue.input)} ${rootNameProblem(issue.input as string)}`),
  ),
  v.pipe(
    v.string(),
    v.check((path) => path.startsWith("/"), (issue) => `host path ${JSON.stringify(issue.input)} is not absolute`),
    v.check((path) => !path.includes("\0"), "host path contains a NUL character"),
    v.check((path) => Buffer.byteLength(path) <= MAX_PATH_BYTES, `host path is longer than ${MAX_PATH_BYTES} bytes`),
  ),
  v.boolean(),
]);

const rootSpecsSchema = v.pipe(
  v.array(rootSpecSchema),
  v.maxLength(MAX_ROOTS_PER_SESSION, `more than ${MAX_ROOTS_PER_SESSION} roots for one session`),
  v.check((specs) => new Set(specs.map(([name]) => name)).size === specs.length, "the same root name appears twice"),
  v.check(
    (specs) =>
      specs.every(([a], i) =>
        specs.every(([b], j) => i === j || !(b === a || b.startsWith(`${a}-`))),
      ),
    "one root's guest prefix contains another's (like xdg and xdg-documents): paths would be ambiguous",
  ),
);

/** The roots of one session. */
export class SessionGrants {
  constructor(
    readonly sessionId: bigint,
    readonly roots: readonly GrantedRoot[],
  ) {}

  /** The root holding `path` and the path relative to it, or undefined when no granted root holds it. */
  locate(path: GuestPath): { root: GrantedRoot; path: RootPath } | undefined {
    for (const root of this.roots) {
      const prefix = guestPrefixSegments(root.name);
      if (prefix.length <= path.segments.length && prefix.every((segment, i) => path.segments[i] === segment)) {
        return { root, path: { text: path.text, relative: path.segments.slice(prefix.length) } };
      }
    }
    return undefined;
  }

  /** The granted prefixes, for messages: `/xdg/documents (read-only)`. */
  describe(): string {
    return this.roots.map((r) => `${r.guestPrefix}${r.writable ? "" : " (read-only)"}`).join(", ") || "none";
  }

  close(): void {
    for (const root of this.roots) root.close();
  }
}

export class GrantTable {
  readonly #sessions = new Map<bigint, SessionGrants>();

  get size(): number {
    return this.#sessions.size;
  }

  /** Validates and opens `specs` (raw D-Bus values) and makes them session `sessionId`'s roots. */
  register(sessionId: bigint, specs: unknown): SessionGrants {
    const parsed = v.safeParse(rootSpecsSchema, specs, { abortEarly: true });
    if (!parsed.success) throw new PortalError("InvalidGrant", parsed.issues.map((i) => i.message).join("; "));
    const roots: GrantedRoot[] = [];
    try {
      for (const [name, hostPath, writable] of parsed.output) {
        roots.push(GrantedRoot.open(name, `/${guestPrefixSegments(name).join("/")}`, hostPath, writable));
      }
    } catch (error) {
      for (const root of roots) root.close();
      throw error;
    }
    const grants = new SessionGrants(sessionId, roots);
    this.#sessions.get(sessionId)?.close();
    this.#sessions.set(sessionId, grants);
    return grants;
  }

  /** Drops session `sessionId`'s roots, closing their directories; false when it had none. */
  revoke(sessionId: bigint): boolean {
    const grants = this.#sessions.get(sessionId);
    if (grants === undefined) return false;
    grants.close();
    this.#sessions.delete(sessionId);
    return true;
  }

  get(sessionId: bigint): SessionGrants | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Drops every session's roots; returns how many sessions had some. */
  clear(): number {
    const count = this.#sessions.size;
    for (const grants of this.#sessions.values()) grants.close();
    this.#sessions.clear();
    return count;
  }

  close(): void {
    this.clear();
  }
}
