/**
 * Which bus to connect to, and how its D-Bus address string reads.
 *
 * Order: an `address` given in code (tests) > `WEFT_BUS_ADDRESS` (so `weft session` can put the whole mesh,
 * system-bus services included, on one private bus) > the chosen bus's standard variable
 * (`DBUS_SESSION_BUS_ADDRESS` / `DBUS_SYSTEM_BUS_ADDRESS`) > its standard socket.
 */
import { existsSync } from "node:fs";
import type { UnixSocketAddress } from "./transport.ts";

export type BusKind = "session" | "system";

export interface BusAddressOptions {
  /** A D-Bus address (`unix:path=/run/x`); wins over everything else. */
  address?: string;
  /** Which standard bus, when no address is given; `session` by default. */
  bus?: BusKind;
}

const SYSTEM_BUS_SOCKET = "unix:path=/var/run/dbus/system_bus_socket";

/** The address string to connect to, with where it came from (for error messages and logs). */
export function resolveBusAddress(
  options: BusAddressOptions = {},
  env: Record<string, string | undefined> = process.env,
): { address: string; source: string } {
  if (options.address !== undefined) return { address: options.address, source: "the address option" };
  const weft = env.WEFT_BUS_ADDRESS;
  if (weft !== undefined && weft !== "") return { address: weft, source: "WEFT_BUS_ADDRESS" };
  if ((options.bus ?? "session") === "system") {
    const system = env.DBUS_SYSTEM_BUS_ADDRESS;
    if (system !== undefined && system !== "") return { address: system, source: "DBUS_SYSTEM_BUS_ADDRESS" };
    return { address: SYSTEM_BUS_SOCKET, source: "the default system bus socket" };
  }
  const session = env.DBUS_SESSION_BUS_ADDRESS;
  if (session !== undefined && session !== "") return { address: session, source: "DBUS_SESSION_BUS_ADDRESS" };
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && existsSync(`${runtimeDir}/bus`)) {
    return { address: `unix:path=${runtimeDir}/bus`, source: "XDG_RUNTIME_DIR/bus" };
  }
  throw new Error(
    "no session bus: set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS (or run under a session with $XDG_RUNTIME_DIR/bus)",
  );
}

/**
 * The unix sockets an address string names, in the order to try them (`;` separates alternatives).
 * Other transports (tcp, unixexec, launchd) are rejected: WEFT only uses local sockets, which carry fds.
 */
export function parseBusAddress(address: string): UnixSocketAddress[] {
  const sockets: UnixSocketAddress[] = [];
  const rejected: string[] = [];
  for (const entry of address.split(";")) {
    if (entry.trim() === "") continue;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`malformed D-Bus address "${entry}": expected transport:key=value,…`);
    const transport = entry.slice(0, colon);
    const params = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(",")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      if (eq < 0) throw new Error(`malformed D-Bus address "${entry}": "${pair}" is not key=value`);
      params.set(pair.slice(0, eq), unescapeValue(pair.slice(eq + 1), entry));
    }
    const path = params.get("path");
    const abstract = params.get("abstract");
    if (transport === "unix" && path !== undefined) sockets.push({ kind: "path", path });
    else if (transport === "unix" && abstract !== undefined) sockets.push({ kind: "abstract", name: abstract });
    else rejected.push(entry);
  }
  if (sockets.length === 0) {
    throw new Error(
      `no usable transport in D-Bus address "${address}": only unix:path= and unix:abstract= are supported` +
        (rejected.length > 0 ? ` (got ${rejected.join("; ")})` : ""),
    );
  }
  return sockets;
}

function unescapeValue(value: string, entry: string): string {
  // Values are %-escaped byte strings (D-Bus spec, "Server Addresses").
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "%") {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`malformed D-Bus address "${entry}": bad escape "%${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
