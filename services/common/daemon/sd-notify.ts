/**
 * sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket named by NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading `@`). Daemons send `READY=1` once they serve and `STOPPING=1` at
 * shutdown. Without NOTIFY_SOCKET nothing is sent (the daemon was not started by systemd as Type=notify).
 *
 *   struct sockaddr_un { sa_family_t sun_family; /0 u16   char sun_path[108]; /2 }
 *   path:     sun_path = "<path>\0",          address length = 2 + bytes + 1
 *   abstract: sun_path = "\0<name>" (no NUL),  address length = 2 + 1 + bytes
 */

import { errno, libcCalls as libc, SystemError } from "../os/libc.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 108;


/** A `sockaddr_un` for `address` and its length; throws when the name does not fit. */
export function unixAddress(address: string): { bytes: Uint8Array; length: number } {
  const abstract = address.startsWith("@");
  const name = Buffer.from(abstract ? address.slice(1) : address, "utf8");
  const used = name.length + 1; // the NUL before an abstract name, or after a path
  if (name.length === 0 || used > SUN_PATH_MAX) throw new Error(`${JSON.stringify(address)} is not a usable AF_UNIX socket address`);
  const bytes = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  bytes.set(name, abstract ? 3 : 2);
  return { bytes, length: abstract ? 2 + used : 2 + used };
}

/** Sends one datagram to the AF_UNIX datagram socket at `address`. */
export function sendDatagram(address: string, data: Uint8Array): void {
  const target = unixAddress(address);
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SystemError("socket(AF_UNIX, SOCK_DGRAM)", errno());
  try {
    const sent = libc.sendto(fd, data, data.length, MSG_NOSIGNAL, target.bytes, target.length);
    if (sent < 0) throw new SystemError("sendto", errno(), address);
  } finally {
    libc.close(fd);
  }
}

/** Tells the service manager `state` (e.g. "READY=1"); false when there is no manager to tell. */
export function sdNotify(state: string, env: Record<string, string | undefined> = process.env): boolean {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === "") return false;
  sendDatagram(socket, Buffer.from(state, "utf8"));
  return true;
}
