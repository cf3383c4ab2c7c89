/**
 * The capability table: the one place that says which capabilities exist, what each means to a user, what it
 * grants at run time and which `weft:app/*` interfaces it opens. `weft-pack check` and `install` read it to
 * validate manifests and component imports; the runtime reads it to decide which host calls succeed.
 * docs/packages.md is the developer-facing copy (a test keeps the two in step).
 *
 * Deny by default: an app gets nothing that a capability in its manifest does not name. The reference
 * (SPEC 4.3, 9 item 12) accepted these names but enforced almost none of them; WEFT enforces every grant
 * written here, and a capability whose grant does not exist yet says so (`reserved`) instead of pretending.
 *
 *   capability                  grant                                        interfaces
 *   fs:rw:app-data              WASI preopen /data, read-write               (WASI filesystem)
 *   fs:read:app-data            WASI preopen /data, read-only                (WASI filesystem)
 *   fs:rw:xdg-documents         file portal root /xdg/documents, read-write  weft:app/files
 *   fs:read:xdg-documents       file portal root /xdg/documents, read-only   weft:app/files (read, list-dir, stat)
 *   net:fetch:<host>            fetch to that host only                      weft:app/fetch
 *   net:fetch:*                 fetch to any host                            weft:app/fetch
 *   sys:notifications           desktop notifications                        weft:app/notifications
 *   sys:clipboard:read          read the clipboard                           weft:app/clipboard (read)
 *   sys:clipboard:write         replace the clipboard                        weft:app/clipboard (write)
 *   hw:gpu:compute|render       reserved: grants nothing yet                 —
 */

/** The WIT package every WEFT host interface belongs to, and the one version this WEFT provides. */
export const WEFT_APP_PACKAGE = "weft:app";
export const WEFT_APP_VERSION = "0.1.0";

/** Unversioned names of the host interfaces in protocol/wit/weft-app.wit. */
export type WeftInterfaceName =
  | "weft:app/notify"
  | "weft:app/ipc"
  | "weft:app/fetch"
  | "weft:app/notifications"
  | "weft:app/clipboard"
  | "weft:app/files";

export interface WeftInterfaceInfo {
  readonly name: WeftInterfaceName;
  /** Functions of the interface, as named in the WIT. */
  readonly functions: readonly string[];
  /** False for interfaces every app may import (lifecycle and its own UI channel). */
  readonly gated: boolean;
}

/** Every `weft:app/*` interface the runtime provides. An import of any other `weft:app/*` name is an error. */
export const WEFT_APP_INTERFACES: Readonly<Record<WeftInterfaceName, WeftInterfaceInfo>> = {
  "weft:app/notify": { name: "weft:app/notify", functions: ["ready"], gated: false },
  "weft:app/ipc": { name: "weft:app/ipc", functions: ["send", "recv", "recv-wait"], gated: false },
  "weft:app/fetch": { name: "weft:app/fetch", functions: ["fetch"], gated: true },
  "weft:app/notifications": { name: "weft:app/notifications", functions: ["notify"], gated: true },
  "weft:app/clipboard": { name: "weft:app/clipboard", functions: ["read", "write"], gated: true },
  "weft:app/files": {
    name: "weft:app/files",
    functions: ["read", "write", "list-dir", "stat", "remove", "mkdir"],
    gated: true,
  },
};

/** What a capability hands the app at run time. */
export type Grant =
  /** A directory preopened into the guest's WASI filesystem. */
  | { readonly kind: "preopen"; readonly guestPath: "/data"; readonly source: "app-data"; readonly readOnly: boolean }
  /** A root of the file portal, reached through `weft:app/files` (never preopened: see docs/packages.md). */
  | { readonly kind: "portal"; readonly root: "/xdg/documents"; readonly source: "xdg-documents"; readonly readOnly: boolean }
  /** `weft:app/fetch`, to one host pattern or to any host. */
  | { readonly kind: "fetch"; readonly anyHost: boolean }
  /** The host functions listed in the definition's `covers`, nothing more. */
  | { readonly kind: "host-functions" }
  /** Known name, no effect yet; accepted so manifests can declare intent, with a warning at check. */
  | { readonly kind: "reserved" };

/** A part of a host interface a capability opens: all of its functions, or the ones listed. */
export interface Coverage {
  readonly interface: WeftInterfaceName;
  readonly functions: "all" | readonly string[];
}

/** One row of the capability table. */
export interface CapabilityDefinition {
  /** The exact name, or `net:fetch:<host>` for the one parameterised form. */
  readonly pattern: string;
  /** One line for users, shown by `weft-pack install` (`<host>` is filled in by `describeCapability`). */
  readonly meaning: string;
  /** What the runtime does when the capability is granted. */
  readonly grant: Grant;
  /** The same, in words, for developers (docs/packages.md, `weft-pack info`). */
  readonly grantSummary: string;
  /** The `weft:app/*` functions this capability opens; empty for preopens and reserved names. */
  readonly covers: readonly Coverage[];
}

const FILES_READ_FUNCTIONS = ["read", "list-dir", "stat"] as const;

/** The table. Order is the order docs and `install` list capabilities in. */
export const CAPABILITY_TABLE: readonly CapabilityDefinition[] = [
  {
    pattern: "fs:rw:app-data",
    meaning: "Keep its own files on this computer (read and write)",
    grant: { kind: "preopen", guestPath: "/data", source: "app-data", readOnly: false },
    grantSummary: "WASI preopen /data (the app's private data directory), read-write",
    covers: [],
  },
  {
    pattern: "fs:read:app-data",
    meaning: "Read its own stored files",
    grant: { kind: "preopen", guestPath: "/data", source: "app-data", readOnly: true },
    grantSummary: "WASI preopen /data (the app's private data directory), read-only",
    covers: [],
  },
  {
    pattern: "fs:rw:xdg-documents",
    meaning: "Read, change and delete files in your Documents folder",
    grant: { kind: "portal", root: "/xdg/documents", source: "xdg-documents", readOnly: false },
    grantSummary: "file portal root /xdg/documents (your Documents folder) through weft:app/files, read-write",
    covers: [{ interface: "weft:app/files", functions: "all" }],
  },
  {
    pattern: "fs:read:xdg-documents",
    meaning: "Read files in your Documents folder",
    grant: { kind: "portal", root: "/xdg/documents", source: "xdg-documents", readOnly: true },
    grantSummary: "file portal root /xdg/documents (your Documents folder) through weft:app/files, read-only",
    covers: [{ interface: "weft:app/files", functions: FILES_READ_FUNCTIONS }],
  },
  {
    pattern: "net:fetch:<host>",
    meaning: "Connect to <host>",
    grant: { kind: "fetch", anyHost: false },
    grantSummary: "weft:app/fetch to that host only (ports 80 and 443 unless a port is named)",
    covers: [{ interface: "weft:app/fetch", functions: "all" }],
  },
  {
    pattern: "net:fetch:*",
    meaning: "Connect to any server on the internet",
    grant: { kind: "fetch", anyHost: true },
    grantSummary: "weft:app/fetch to any host and port",
    covers: [{ interface: "weft:app/fetch", functions: "all" }],
  },
  {
    pattern: "sys:notifications",
    meaning: "Show desktop notifications",
    grant: { kind: "host-functions" },
    grantSummary: "weft:app/notifications",
    covers: [{ interface: "weft:app/notifications", functions: "all" }],
  },
  {
    pattern: "sys:clipboard:read",
    meaning: "Read what you copied to the clipboard",
    grant: { kind: "host-functions" },
    grantSummary: "weft:app/clipboard read",
    covers: [{ interface: "weft:app/clipboard", functions: ["read"] }],
  },
  {
    pattern: "sys:clipboard:write",
    meaning: "Replace the contents of the clipboard",
    grant: { kind: "host-functions" },
    grantSummary: "weft:app/clipboard write",
    covers: [{ interface: "weft:app/clipboard", functions: ["write"] }],
  },
  {
    pattern: "hw:gpu:compute",
    meaning: "Use the graphics card for computation (reserved: has no effect yet)",
    grant: { kind: "reserved" },
    grantSummary: "reserved: grants nothing yet",
    covers: [],
  },
  {
    pattern: "hw:gpu:render",
    meaning: "Use the graphics card for drawing (reserved: has no effect yet)",
    grant: { kind: "reserved" },
    grantSummary: "reserved: grants nothing yet",
    covers: [],
  },
];

const FETCH_PREFIX = "net:fetch:";

/** The host part of `net:fetch:<host>`, parsed. */
export interface FetchHostPattern {
  /** The DNS name, without the `*.` prefix: `example.com` for `*.example.com`. */
  readonly domain: string;
  /** `*.example.com`: any subdomain of `domain`, at any depth, but not `domain` itself. */
  readonly subdomains: boolean;
  /** A named port; without one, only the standard ports 80 and 443 match. */
  readonly port?: number;
}

/** A capability that passed `parseCapability`: its text, its table row and, for one host, the host. */
export interface Capability {
  /** The text as written in the manifest (already canonical: no normalisation is done). */
  readonly name: string;
  readonly definition: CapabilityDefinition;
  /** Set for `net:fetch:<host>` only. */
  readonly host?: FetchHostPattern;
}

export type CapabilityParseResult =
  | { readonly ok: true; readonly capability: Capability }
  | { readonly ok: false; readonly message: string };

const byPattern = new Map(CAPABILITY_TABLE.map((definition) => [definition.pattern, definition]));

function definitionFor(pattern: string): CapabilityDefinition {
  const definition = byPattern.get(pattern);
  if (definition === undefined) throw new Error(`capability table has no row ${pattern}`);
  return definition;
}

const FIXED_NAMES = CAPABILITY_TABLE.map((d) => d.pattern);
const MAX_CAPABILITY_LENGTH = 300;

/**
 * Parses one capability string from a manifest. Nothing is normalised: a capability that is not written
 * exactly in its canonical form is rejected with the form to write, so the text a user approves at install
 * is the text that is enforced.
 */
export function parseCapability(text: string): CapabilityParseResult {
  const fail = (message: string): CapabilityParseResult => ({ ok: false, message });
  if (text.length === 0) return fail("is empty: write a capability such as fs:rw:app-data");
  if (text.length > MAX_CAPABILITY_LENGTH) return fail(`is longer than ${MAX_CAPABILITY_LENGTH} characters`);
  if (/\s/.test(text)) return fail(`${JSON.stringify(text)} contains whitespace: remove it`);

  if (text !== "net:fetch:<host>") {
    const fixed = byPattern.get(text);
    if (fixed !== undefined) return { ok: true, capability: { name: text, definition: fixed } };
  }
  if (text === "net:fetch" || text === FETCH_PREFIX) {
    // Bare net:fetch appears in the reference's docs. It is not accepted as "any host": an ambient grant
    // must be spelled out, so the user sees `*` at install.
    return fail(
      `${JSON.stringify(text)} names no host: write net:fetch:<host> (for example net:fetch:api.example.com) for one server, or net:fetch:* for any`,
    );
  }
  if (text.startsWith(FETCH_PREFIX)) {
    const hostText = text.slice(FETCH_PREFIX.length);
    const host = parseFetchHost(hostText);
    if (!host.ok) return fail(`${JSON.stringify(text)}: the host ${host.message}`);
    return { ok: true, capability: { name: text, definition: definitionFor("net:fetch:<host>"), host: host.host } };
  }
  const lower = text.toLowerCase();
  if (lower !== text && (byPattern.has(lower) || lower.startsWith(FETCH_PREFIX))) {
    return fail(`${JSON.stringify(text)} must be lowercase: write ${lower}`);
  }
  return fail(
    `${JSON.stringify(text)} is not a known capability: use one of ${FIXED_NAMES.join(", ")} (see docs/packages.md)`,
  );
}

const MAX_HOST_LENGTH = 253;
const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

type HostParseResult = { ok: true; host: FetchHostPattern } | { ok: false; message: string };

/**
 * Host grammar for `net:fetch:<host>`: `[*.]name[:port]`, where name is a lowercase ASCII DNS name
 * (labels of a-z, 0-9 and inner hyphens, ≤ 63 bytes each, ≤ 253 in all; IDNs in their xn-- form) whose last
 * label starts with a letter. That last rule is what excludes IP literals: a WHATWG URL parser reads a host
 * ending in a numeric label (`10.0.0.1`, `127.1`, `0x7f.1`) as an IPv4 address.
 */
function parseFetchHost(text: string): HostParseResult {
  const fail = (message: string): HostParseResult => ({ ok: false, message });
  if (text.length === 0) return fail("is empty: write net:fetch:<host> or net:fetch:*");
  if (text.includes("://") || text.includes("/")) {
    return fail(`${JSON.stringify(text)} must be a host name only, without scheme or path (like api.example.com)`);
  }
  if (text.includes("@")) return fail(`${JSON.stringify(text)} must not contain user information ("@")`);
  if (text.startsWith("[") || text.includes("::")) {
    return fail(`${JSON.stringify(text)} is an IP address: name the server by its DNS name`);
  }
  let name = text;
  let port: number | undefined;
  const colon = text.lastIndexOf(":");
  if (colon !== -1) {
    name = text.slice(0, colon);
    const portText = text.slice(colon + 1);
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
      return fail(`${JSON.stringify(text)} has the port ${JSON.stringify(portText)}: a port is a number from 1 to 65535`);
    }
    port = Number(portText);
    if (name.includes(":")) return fail(`${JSON.stringify(text)} has more than one ":"`);
  }
  if (name === "*") {
    return fail(`${JSON.stringify(text)}: a port cannot follow "*"; write net:fetch:* for any host and port`);
  }
  const subdomains = name.startsWith("*.");
  const domain = subdomains ? name.slice(2) : name;
  if (domain.includes("*")) {
    return fail(`${JSON.stringify(text)}: "*" is allowed only as a whole first label, as in *.example.com`);
  }
  if (/[^\x21-\x7e]/.test(domain)) {
    return fail(`${JSON.stringify(text)} must be ASCII: write an international name in its xn-- (punycode) form`);
  }
  if (domain !== domain.toLowerCase()) {
    return fail(`${JSON.stringify(text)} must be lowercase: write ${FETCH_PREFIX}${text.toLowerCase()}`);
  }
  if (domain.length === 0) return fail(`${JSON.stringify(text)} has no host name`);
  if (domain.length > MAX_HOST_LENGTH) return fail(`${JSON.stringify(text)} is longer than ${MAX_HOST_LENGTH} characters`);
  if (domain.endsWith(".")) return fail(`${JSON.stringify(text)}: remove the trailing "."`);
  const labels = domain.split(".");
  for (const label of labels) {
    if (!dnsLabel.test(label)) {
      return fail(
        `${JSON.stringify(text)} has the label ${JSON.stringify(label)}: each dot-separated label is 1 to 63 of a-z, 0-9 and "-", not starting or ending with "-"`,
      );
    }
  }
  const last = labels[labels.length - 1] ?? "";
  if (!/^[a-z]/.test(last)) {
    return fail(`${JSON.stringify(text)} looks like an IP address: name the server by its DNS name`);
  }
  if (subdomains && labels.length < 2) {
    return fail(`${JSON.stringify(text)} would match every name under a top-level domain: name a registered domain, like *.example.com`);
  }
  return { ok: true, host: port === undefined ? { domain, subdomains } : { domain, subdomains, port } };
}

/**
 * The one-line meaning of a capability for users (`weft-pack install`), e.g. "Connect to api.example.com".
 * Accepts the parsed capability or its text; text that does not parse is described as unknown.
 */
export function describeCapability(capability: Capability | string): string {
  if (typeof capability === "string") {
    const parsed = parseCapability(capability);
    if (!parsed.ok) return `Unknown capability ${JSON.stringify(capability)}`;
    capability = parsed.capability;
  }
  const host = capability.host;
  if (host === undefined) return capability.definition.meaning;
  const where = host.subdomains ? `any subdomain of ${host.domain}` : host.domain;
  return host.port === undefined ? `Connect to ${where}` : `Connect to ${where} on port ${host.port}`;
}

/** The parsed form of a capability already known to be valid (from a `Manifest`); throws if it is not. */
export function requireCapability(text: string): Capability {
  const parsed = parseCapability(text);
  if (!parsed.ok) throw new Error(`invalid capability: ${parsed.message}`);
  return parsed.capability;
}

/** Strips the `@version` of an interface name: `weft:app/fetch@0.1.0` → `weft:app/fetch`. */
function unversioned(interfaceName: string): string {
  const at = interfaceName.indexOf("@");
  return at === -1 ? interfaceName : interfaceName.slice(0, at);
}

/** The interface's info when `name` (versioned or not) is a `weft:app/*` interface this WEFT provides. */
export function weftInterface(name: string): WeftInterfaceInfo | undefined {
  const key = unversioned(name);
  return Object.hasOwn(WEFT_APP_INTERFACES, key) ? WEFT_APP_INTERFACES[key as WeftInterfaceName] : undefined;
}

/**
 * The table rows that open at least part of `interfaceName` (versioned or not), in table order.
 * Empty for ungated interfaces (notify, ipc) and for names that are not WEFT interfaces.
 */
export function capabilitiesCovering(interfaceName: string): CapabilityDefinition[] {
  const key = unversioned(interfaceName);
  return CAPABILITY_TABLE.filter((definition) => definition.covers.some((c) => c.interface === key));
}

/**
 * Whether `granted` lets the guest call `functionName` of `interfaceName`. Ungated interfaces are always
 * allowed; unknown ones never. For fetch this answers "may it fetch at all"; the host is `fetchAllowed`'s job,
 * and for files the path is the portal's.
 */
export function allowsCall(granted: readonly Capability[], interfaceName: string, functionName: string): boolean {
  const info = weftInterface(interfaceName);
  if (info === undefined || !info.functions.includes(functionName)) return false;
  if (!info.gated) return true;
  return granted.some((capability) =>
    capability.definition.covers.some(
      (c) => c.interface === info.name && (c.functions === "all" || c.functions.includes(functionName)),
    ),
  );
}

const STANDARD_PORTS = new Set([80, 443]);

/**
 * Whether `granted` allows `weft:app/fetch` to request `url`. Only http and https URLs are allowed. The host
 * is compared after WHATWG URL parsing (lowercased, IDNs in xn-- form), so a URL cannot dodge a pattern by
 * spelling; IP-literal hosts match only `net:fetch:*`, since host patterns cannot name them.
 */
export function fetchAllowed(granted: readonly Capability[], url: string | URL): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  const hostname = parsed.hostname;
  const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
  return granted.some((capability) => {
    if (capability.definition.grant.kind !== "fetch") return false;
    if (capability.definition.grant.anyHost) return true;
    const host = capability.host;
    if (host === undefined) return false;
    if (host.port === undefined ? !STANDARD_PORTS.has(port) : host.port !== port) return false;
    return host.subdomains ? hostname.endsWith("." + host.domain) : hostname === host.domain;
  });
}
