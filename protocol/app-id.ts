/**
 * App ids are reverse-DNS names (`org.weft.demo.counter`): at least three dot-separated segments, each a
 * lowercase letter followed by lowercase letters and digits (SPEC 3.1). WEFT adds a length bound so an id
 * always fits in a file name, a systemd unit name and a D-Bus object path.
 *
 * Every id that arrives from outside (a manifest, a bus call, a command line) passes through here before it
 * is joined into a path: the grammar admits no `/`, `..`, NUL or uppercase.
 */

export const MAX_APP_ID_LENGTH = 128;

declare const checked: unique symbol;
/** An app id that has been checked (by `assertAppId`), where it entered the process: no need to check it again. */
export type AppId = string & { readonly [checked]: true };

const segment = /^[a-z][a-z0-9]*$/;

/** Why `id` is not a valid app id, or `undefined` when it is. */
export function appIdProblem(id: string): string | undefined {
  if (id.length === 0) return "is empty";
  if (id.length > MAX_APP_ID_LENGTH) return `is longer than ${MAX_APP_ID_LENGTH} characters`;
  const parts = id.split(".");
  if (parts.length < 3) return "needs at least three dot-separated segments, like org.example.app";
  for (const part of parts) {
    if (part.length === 0) return "has an empty segment";
    if (!segment.test(part)) {
      return `has the segment ${JSON.stringify(part)}: each segment is a lowercase letter followed by lowercase letters or digits`;
    }
  }
  return undefined;
}

export function isValidAppId(id: string): boolean {
  return appIdProblem(id) === undefined;
}

/** Returns `id` unchanged, as a checked AppId, or throws an InvalidAppIdError naming the problem. */
export function assertAppId(id: string): AppId {
  const problem = appIdProblem(id);
  if (problem !== undefined) throw new InvalidAppIdError(id, problem);
  return id as AppId;
}

export class InvalidAppIdError extends Error {
  constructor(
    readonly appId: string,
    readonly problem: string,
  ) {
    // A hostile id may be long: at most 64 characters of it are echoed.
    super(`${JSON.stringify(appId.length > 64 ? `${appId.slice(0, 64)}…` : appId)} is not a valid app id: it ${problem}`);
    this.name = "InvalidAppIdError";
  }
}
