/**
 * `weft:app/fetch`: real HTTP, only to the hosts the app's `net:fetch:…` capabilities allow.
 *
 * Every hop is checked: redirects are followed by hand (at most 5), each target against the capabilities
 * again, so an allowed host cannot bounce the request elsewhere. A DNS name that resolves to a loopback,
 * private or link-local address is refused unless the capability named that host exactly as `localhost`
 * (or is `net:fetch:*`): an allowed public name must not become a way into the user's own network. (The name
 * is resolved again by the HTTP client; a resolver that answers differently the second time — DNS rebinding —
 * is not stopped by this check.)
 *
 * Reference semantics (SPEC 4.2): status ≥ 400 is an error; content-type is the media type without parameters
 * (`text/plain` when absent). Limits: 30 s per request, 16 MiB of response body, 1 MiB of request body.
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { fetchAllowed, type Capability } from "../common/capabilities.ts";

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

async function checkTarget(granted: readonly Capability[], url: URL): Promise<void> {
  if (!fetchAllowed(granted, url)) {
    throw new FetchError(true, `fetching ${url.protocol}//${url.host} needs a capability this app does not declare: net:fetch:${url.hostname}${url.port ? `:${url.port}` : ""}`);
  }
  if (localAllowed(granted, url.hostname)) return;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(url.hostname, { all: true });
  } catch (error) {
    throw new FetchError(false, `cannot resolve ${url.hostname}: ${(error as Error).message}`);
  }
  const local = addresses.find((a) => isPrivateAddress(a.address));
  if (local !== undefined) {
    throw new FetchError(true, `${url.hostname} resolves to ${local.address}, a local or private address; apps may reach those only through net:fetch:localhost or net:fetch:*`);
  }
}

export async function performFetch(granted: readonly Capability[], request: FetchRequest): Promise<FetchResponse> {
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
    await checkTarget(granted, url);
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, redirect: "manual", signal: deadline });
    } catch (error) {
      throw new FetchError(false, deadline.aborted ? `no answer from ${url.host} within ${FETCH_TIMEOUT_MS / 1000} s` : `request to ${url.host} failed: ${(error as Error).message}`);
    }
    const location = response.headers.get("location");
    if (REDIRECT_STATUSES.has(response.status) && location !== null) {
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new FetchError(false, `more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      continue;
    }
    const bytes = await readLimited(response);
    if (response.status >= 400) throw new FetchError(false, `HTTP ${response.status} ${response.statusText} from ${url.host}`);
    const contentType = (response.headers.get("content-type") ?? "text/plain").split(";")[0]!.trim().toLowerCase();
    return { status: response.status, contentType, body: bytes };
  }
}

async function readLimited(response: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel(); // stop downloading: the rest would be thrown away anyway
      throw new FetchError(false, `the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
