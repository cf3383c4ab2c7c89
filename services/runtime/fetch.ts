/**
 * `weft:app/fetch`: real HTTP, only to the hosts the app's `net:fetch:…` capabilities allow.
 *
 * Every hop is checked: redirects are followed by hand (at most 5), each target against the capabilities
 * again, so an allowed host cannot bounce the request elsewhere. A DNS name that resolves to a loopback,
 * private or link-local address is refused unless the capability named that host exactly as `localhost`
 * (or is `net:fetch:*`): an allowed public name must not become a way into the user's own network. The name
 * is resolved once per hop, here, and the connection goes to the address that was checked (the HTTP client's
 * own lookup is replaced), so a resolver that answers differently the second time — DNS rebinding — changes
 * nothing. The Host header and TLS's server name are the URL's host, which the capability allowed; the
 * certificate is verified against it.
 *
 * Reference semantics (SPEC 4.2): status ≥ 400 is an error; content-type is the media type without parameters
 * (`text/plain` when absent). Limits: 30 s per request, 16 MiB of response body, 1 MiB of request body.
 */

import { lookup as systemLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { fetchAllowed, type Capability } from "../common/package/capabilities.ts";

export const FETCH_TIMEOUT_MS = 30_000;
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_REDIRECTS = 5;

export interface FetchRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body?: Uint8Array;
}

export interface FetchResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** A refused or failed fetch; the message is what the guest's `err` carries. */
export class FetchError extends Error {
  constructor(
    readonly denied: boolean,
    message: string,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

/** Headers the host sets itself: letting the guest set them would let it smuggle requests or lie about length. */
const RESERVED_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "upgrade", "keep-alive", "te", "trailer", "proxy-authorization"]);
const METHOD = /^[A-Z]{1,16}$/;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split(".").map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  const lower = address.toLowerCase();
  if (lower === "::1" || lower === "::") return true;
  if (lower.startsWith("::ffff:")) return isPrivateAddress(lower.slice(7));
  return lower.startsWith("fc") || lower.startsWith("fd") || lower.startsWith("fe80");
}

/** Whether the capabilities name this host as a local one on purpose (`net:fetch:localhost…`) or allow any host. */
function localAllowed(granted: readonly Capability[], hostname: string): boolean {
  return granted.some((c) => (c.definition.grant.kind === "fetch" && c.definition.grant.anyHost) || (hostname === "localhost" && c.host?.domain === "localhost"));
}

/** Resolves a host name to its addresses: the system's resolver, or a test's. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => systemLookup(hostname, { all: true });

/** The address a hop connects to: the one that was checked. */
interface CheckedTarget {
  address: string;
  family: 4 | 6;
}

/** `url`'s host as a name or an address, an IPv6 literal without its brackets. */
function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** Checks `url` against the capabilities, resolves its host once and returns the address to connect to. */
async function checkTarget(granted: readonly Capability[], url: URL, resolve: Resolver): Promise<CheckedTarget> {
  const hostname = bareHostname(url);
  if (!fetchAllowed(granted, url)) {
    // Capabilities name servers by DNS name: an address is reachable only with net:fetch:*.
    const needed = isIP(hostname) ? "net:fetch:* (capabilities name servers by DNS name, never by address)" : `net:fetch:${url.hostname}${url.port ? `:${url.port}` : ""}`;
    throw new FetchError(true, `fetching ${url.protocol}//${url.host} needs a capability this app does not declare: ${needed}`);
  }
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(hostname) ? [{ address: hostname, family: isIP(hostname) }] : await resolve(hostname);
  } catch (error) {
    throw new FetchError(false, `cannot resolve ${hostname}: ${(error as Error).message}`);
  }
  if (addresses.length === 0) throw new FetchError(false, `cannot resolve ${hostname}: no address`);
  if (!localAllowed(granted, hostname)) {
    // Every answer is checked, not only the one used: a name with one public and one private address is refused.
    const local = addresses.find((a) => isPrivateAddress(a.address));
    if (local !== undefined) {
      throw new FetchError(true, `${hostname} resolves to ${local.address}, a local or private address; apps may reach those only through net:fetch:localhost or net:fetch:*`);
    }
  }
  const [first] = addresses;
  return { address: first!.address, family: first!.family === 6 ? 6 : 4 };
}

/**
 * One HTTP exchange with `url`'s host at `target` only: the client's lookup always answers the checked address;
 * Host and, for https, the TLS server name stay `url`'s host.
 */
function requestPinned(url: URL, target: CheckedTarget, method: string, headers: Headers, body: Uint8Array | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  const client = url.protocol === "https:" ? https : http;
  const hostname = bareHostname(url);
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        protocol: url.protocol,
        host: hostname,
        port: url.port === "" ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers: Object.fromEntries(headers),
        lookup: pinned,
        ...(url.protocol === "https:" && isIP(hostname) === 0 ? { servername: hostname } : {}),
        signal,
      },
      resolve,
    );
    request.on("error", reject);
    request.end(body === undefined ? undefined : Buffer.from(body));
  });
}

export async function performFetch(granted: readonly Capability[], request: FetchRequest, resolve: Resolver = systemResolver): Promise<FetchResponse> {
  if (!METHOD.test(request.method)) throw new FetchError(false, `${JSON.stringify(request.method)} is not an HTTP method (use uppercase, like GET)`);
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new FetchError(false, `the ${name} header is set by the host and cannot be set by the app`);
    try {
      headers.append(name, value);
    } catch {
      throw new FetchError(false, `invalid header ${JSON.stringify(name)}`);
    }
  }
  if (request.body !== undefined && request.body.length > MAX_REQUEST_BYTES) {
    throw new FetchError(false, `the request body is larger than ${MAX_REQUEST_BYTES} bytes`);
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new FetchError(false, `${JSON.stringify(request.url)} is not a URL`);
  }

  const deadline = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  let method = request.method;
  let body = request.body;
  for (let hop = 0; ; hop++) {
    const target = await checkTarget(granted, url, resolve);
    let response: IncomingMessage;
    try {
      response = await requestPinned(url, target, method, headers, body, deadline);
    } catch (error) {
      throw new FetchError(false, deadline.aborted ? `no answer from ${url.host} within ${FETCH_TIMEOUT_MS / 1000} s` : `request to ${url.host} failed: ${(error as Error).message}`);
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined) {
      response.destroy();
      if (hop >= MAX_REDIRECTS) throw new FetchError(false, `more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      if (status === 303 || ((status === 301 || status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      continue;
    }
    const bytes = await readLimited(response, url, deadline);
    if (status >= 400) throw new FetchError(false, `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ""} from ${url.host}`);
    const contentType = (response.headers["content-type"] ?? "text/plain").split(";")[0]!.trim().toLowerCase();
    return { status, contentType, body: bytes };
  }
}

async function readLimited(response: IncomingMessage, url: URL, deadline: AbortSignal): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > MAX_RESPONSE_BYTES) {
        response.destroy(); // stop downloading: the rest would be thrown away anyway
        throw new FetchError(false, `the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(false, deadline.aborted ? `no answer from ${url.host} within ${FETCH_TIMEOUT_MS / 1000} s` : `reading the response of ${url.host} failed: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks);
}
