/**
 * App ids are reverse-DNS names (`org.weft.demo.counter`): at least three dot-separated segments, each a
 * lowercase letter followed by lowercase letters and digits (SPEC 3.1). WEFT adds a length bound so an id
 * always fits in a file name, a systemd unit name and a D-Bus object path.
 *
 * Every id that arrives from outside (a manifest, a bus call, a command line) passes through here before it
 * is joined into a path: the grammar admits no `/`, `..`, NUL or uppercase.
 */

export const MAX_APP_ID_LENGTH = 128;

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

/** Returns `id` unchanged, or throws an Error naming the problem. */
export function assertAppId(id: string): string {
  const problem = appIdProblem(id);
  if (problem !== undefined) throw new InvalidAppIdError(id, problem);
  return id;
}

export class InvalidAppIdError extends Error {
  constructor(
    readonly appId: string,
    readonly problem: string,
  ) {
    super(`${JSON.stringify(appId)} is not a valid app id: it ${problem}`);
    this.name = "InvalidAppIdError";
  }
}
