/**
 * The portal's refusals. Every expected failure is a `PortalError` whose `errorName` becomes the D-Bus error
 * `org.weft.FilePortal1.Error.<errorName>`; its message names the guest path (never the host path behind a
 * root) and says what went wrong.
 */

import { SystemError } from "../common/os/libc.ts";

export type PortalErrorName =
  | "AccessDenied"
  | "NotGranted"
  | "ReadOnly"
  | "TooLarge"
  | "InvalidPath"
  | "NotFound"
  | "Exists"
  | "NotEmpty"
  | "WrongType"
  | "InvalidGrant"
  | "InvalidArgs"
  | "IoError";

export class PortalError extends Error {
  constructor(
    readonly errorName: PortalErrorName,
    message: string,
  ) {
    super(message);
    this.name = "PortalError";
  }
}

/**
 * Turns a failed system call on `guestPath` (beneath the root `rootPrefix`) into the refusal the caller sees.
 * Anything that is not a SystemError is returned unchanged: it is a bug, not a refusal.
 */
export function refusalOf(error: unknown, guestPath: string, rootPrefix: string): unknown {
  if (!(error instanceof SystemError)) return error;
  switch (error.code) {
    case "ENOENT":
      return new PortalError("NotFound", `${guestPath} does not exist (or one of its parent directories does not)`);
    case "EXDEV":
      return new PortalError(
        "AccessDenied",
        `${guestPath} leads outside ${rootPrefix} (through an absolute symlink or one pointing out of it): refused`,
      );
    case "ELOOP":
      return new PortalError(
        "InvalidPath",
        `${guestPath} goes through a symlink loop or a /proc magic link, or ends in a symlink this operation does not follow`,
      );
    case "ENOTDIR":
      return new PortalError("WrongType", `a parent of ${guestPath}, or ${guestPath} itself, is not a directory`);
    case "EISDIR":
      return new PortalError("WrongType", `${guestPath} is a directory`);
    case "ENOTEMPTY":
      return new PortalError("NotEmpty", `${guestPath} is a directory that is not empty: remove its entries first`);
    case "EEXIST":
      return new PortalError("Exists", `${guestPath} already exists`);
    case "EACCES":
    case "EPERM":
      return new PortalError("AccessDenied", `the host's permissions do not allow this on ${guestPath}`);
    case "ENAMETOOLONG":
      return new PortalError("InvalidPath", `${guestPath} is too long for the host's filesystem`);
    case "EROFS":
      return new PortalError("ReadOnly", `${guestPath} is on a read-only filesystem`);
    default:
      return new PortalError("IoError", `${error.syscall} failed on ${guestPath}: ${error.code}`);
  }
}
