/**
 * The guest's side of paths. A root granted to a session has a name (`xdg-documents`, as in the capability
 * `fs:rw:xdg-documents`) and a guest prefix derived from it, each `-` a `/`:
 *
 *   xdg-documents  →  /xdg/documents        /xdg/documents/notes/todo.txt  →  root xdg-documents, notes/todo.txt
 *
 * A guest path is absolute and `/`-separated with no empty, `.` or `..` segment and no NUL; these rules are
 * checked here, once, before any name reaches the kernel. They are not what keeps a session inside its roots
 * (openat2 with RESOLVE_BENEATH does that, symlinks included); they make a bad path a clear InvalidPath.
 */

import { PortalError } from "./errors.ts";

/** PATH_MAX: the longest guest path accepted, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** NAME_MAX: the longest segment, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255;
export const MAX_ROOT_NAME_LENGTH = 64;

const ROOT_NAME = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;

/** Why `name` cannot be a root name, or undefined when it can. */
export function rootNameProblem(name: string): string | undefined {
  if (name.length > MAX_ROOT_NAME_LENGTH) return `is longer than ${MAX_ROOT_NAME_LENGTH} characters`;
  if (!ROOT_NAME.test(name)) return "is not lowercase [a-z][a-z0-9]* segments joined by '-' (like xdg-documents)";
  return undefined;
}

/** The segments of a root's guest prefix: `xdg-documents` → ["xdg", "documents"] (shown as /xdg/documents). */
export function guestPrefixSegments(rootName: string): string[] {
  return rootName.split("-");
}

/** A path as the guest wrote it, checked, and split into segments. */
export interface GuestPath {
  /** The path as given (valid UTF-8, no NUL): safe to log and to put in messages. */
  readonly text: string;
  readonly segments: readonly string[];
}

/** Checks a guest path; throws PortalError InvalidPath saying which rule it breaks. */
export function parseGuestPath(text: string): GuestPath {
  const shown = text.length > 200 ? `${JSON.stringify(text.slice(0, 200))}…` : JSON.stringify(text);
  const invalid = (why: string) => new PortalError("InvalidPath", `path ${shown} ${why}`);
  if (text.includes("\0")) throw invalid("contains a NUL character");
  if (Buffer.byteLength(text, "utf8") > MAX_PATH_BYTES) throw invalid(`is longer than ${MAX_PATH_BYTES} bytes`);
  if (!text.startsWith("/")) throw invalid("is not absolute: paths start with a granted root such as /xdg/documents");
  if (text === "/") throw invalid("names no root: paths start with a granted root such as /xdg/documents");
  const segments = text.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") throw invalid("has an empty segment (`//` or a trailing `/`)");
    if (segment === "." || segment === "..") throw invalid(`has a "${segment}" segment: write the path without it`);
    if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) throw invalid(`has a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return { text, segments };
}
