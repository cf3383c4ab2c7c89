/**
 * Serves a view's files under one reserved origin through the DevTools Fetch domain, and keeps the view on it.
 *
 * Every request the page makes is paused before it leaves Chromium (`Fetch.enable`, stage Request). A GET for
 * the view's origin is answered from `files` (the verified package files for an app, the shell's own files for
 * the system UI) with a strict Content-Security-Policy; anything else — another origin, the network, file://,
 * another app's origin — fails with BlockedByClient and is logged. Origins end in `.weft.invalid`: `.invalid`
 * is reserved (RFC 2606) and never resolves, so even a request that slipped past would go nowhere.
 *
 * Navigation away is undone (the main frame is sent back to the entry page) and new windows are closed.
 */

import type { Logger } from "../daemon/log.ts";
import { CdpError, type CdpConnection } from "./cdp.ts";

/** What the page may load: only its own files; no network at all (the IPC bridge is not a network API). */
export const VIEW_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; media-src 'self'; connect-src 'none'; worker-src 'none'; frame-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
  woff2: "font/woff2",
  woff: "font/woff",
  ttf: "font/ttf",
  txt: "text/plain; charset=utf-8",
  wasm: "application/wasm",
};

export function contentType(path: string): string {
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** The origin a view is served from: `https://<label>.weft.invalid`. App ids become DNS labels (dots → dashes). */
export function viewOrigin(label: string): string {
  return `https://${label.toLowerCase().replace(/[^a-z0-9-]/g, "-")}.weft.invalid`;
}

export interface ServeOptions {
  cdp: CdpConnection;
  sessionId: string;
  origin: string;
  /** Path inside the view ("ui/index.html" style, no leading slash) → bytes; undefined when there is no such file. */
  file: (path: string) => Uint8Array | undefined;
  /** Where the main frame goes back to when it navigates away. */
  entryUrl: string;
  log: Logger;
}

/** Starts answering the page's requests; resolves once interception is on (before the first navigation). */
export async function serveOrigin(options: ServeOptions): Promise<void> {
  const { cdp, sessionId, origin, log } = options;
  cdp.on("Fetch.requestPaused", (params, from) => {
    if (from !== sessionId) return;
    void answer(options, params).catch((error) => {
      if (!(error instanceof CdpError)) log.warn("answering a request failed", { error: String(error) });
    });
  });
  // The main frame leaving the origin (a link, location.href, a failed load showing Chromium's error page) is
  // sent back to the entry page.
  cdp.on("Page.frameNavigated", (params, from) => {
    if (from !== sessionId) return;
    const frame = params.frame as { parentId?: string; url: string; urlFragment?: string };
    if (frame.parentId !== undefined) return;
    if (new URL(frame.url).origin === origin) return;
    log.warn("the page navigated away from its origin: sent back", { url: frame.url.slice(0, 200) });
    void cdp.send("Page.navigate", { url: options.entryUrl }, sessionId).catch(() => {});
  });
  // window.open and target=_blank: the view has one page; anything else it opens is closed at once.
  cdp.on("Target.targetCreated", (params) => {
    const info = params.targetInfo as { targetId: string; type: string; openerId?: string };
    if (info.type === "page" && info.openerId !== undefined) {
      log.warn("the page opened a window: closed", {});
      void cdp.send("Target.closeTarget", { targetId: info.targetId }).catch(() => {});
    }
  });
  await cdp.send("Target.setDiscoverTargets", { discover: true });
  await cdp.send("Page.enable", {}, sessionId);
  await cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] }, sessionId);
}

async function answer(options: ServeOptions, params: Record<string, unknown>): Promise<void> {
  const { cdp, sessionId, origin, log } = options;
  const requestId = params.requestId as string;
  const request = params.request as { url: string; method: string };
  let url: URL | undefined;
  try {
    url = new URL(request.url);
  } catch {
    url = undefined;
  }
  if (url === undefined || url.origin !== origin) {
    log.warn("blocked a request outside the view's origin", { url: request.url.slice(0, 200), method: request.method });
    await cdp.send("Fetch.failRequest", { requestId, errorReason: "BlockedByClient" }, sessionId);
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    await fulfill(cdp, sessionId, requestId, 405, "text/plain; charset=utf-8", new TextEncoder().encode("method not allowed"));
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname).replace(/^\/+/, "");
  } catch {
    path = "\0"; // undecodable: no such file
  }
  if (path === "" || path.endsWith("/")) path += "index.html";
  const body = options.file(path);
  if (body === undefined) {
    await fulfill(cdp, sessionId, requestId, 404, "text/plain; charset=utf-8", new TextEncoder().encode(`${path} is not part of this view`));
    return;
  }
  await fulfill(cdp, sessionId, requestId, 200, contentType(path), request.method === "HEAD" ? new Uint8Array(0) : body);
}

function fulfill(cdp: CdpConnection, sessionId: string, requestId: string, status: number, type: string, body: Uint8Array): Promise<unknown> {
  return cdp.send(
    "Fetch.fulfillRequest",
    {
      requestId,
      responseCode: status,
      responseHeaders: [
        { name: "Content-Type", value: type },
        { name: "Content-Security-Policy", value: VIEW_CSP },
        { name: "X-Content-Type-Options", value: "nosniff" },
        { name: "Cache-Control", value: "no-store" },
        { name: "Referrer-Policy", value: "no-referrer" },
      ],
      body: Buffer.from(body).toString("base64"),
    },
    sessionId,
  );
}
