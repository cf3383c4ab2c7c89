/**
 * A command line a WEFT program does not take: the message says what is wrong and shows the usage. Every program's
 * parser throws it (protocol/session-child.ts for the session's children; services/common/daemon/frame.ts for the
 * daemons that take no arguments), and the service frame turns it into exit 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
