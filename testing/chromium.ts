/**
 * A view for tests: a real Chromium on a compositor connection, serving a page's files from its reserved origin
 * (serveOrigin), navigated to its index.html, with the helpers tests of views need (evaluate in the page, wait,
 * click an element through Chromium's input path).
 */

import type { Logger } from "../services/common/daemon/log.ts";
import type { CdpConnection } from "../services/common/chromium/cdp.ts";
import { ChromiumProcess } from "../services/common/chromium/chromium.ts";
import { serveOrigin, viewOrigin } from "../services/common/chromium/origin.ts";
import { until } from "./until.ts";

export interface TestViewOptions {
  /** The Wayland connection (Compositor1.OpenClient); passed to Chromium. */
  waylandFd: number;
  /** The origin's label (viewOrigin) and the window class. */
  label: string;
  /** The profile directory's label. */
  name: string;
  /** The view's files ("index.html" style paths); undefined: no such file. */
  file: (path: string) => Uint8Array | undefined;
  log: Logger;
  /** Runs after interception is on and before the page loads (inject scripts here). */
  beforeNavigate?: (cdp: CdpConnection, page: string) => Promise<unknown>;
}

export interface TestView {
  chromium: ChromiumProcess;
  /** The page target's (flattened) session id. */
  page: string;
  origin: string;
  /** Evaluates `expression` in the page (promises awaited) and returns its value; a page exception is thrown. */
  evaluate(expression: string): Promise<any>;
  /** Polls `check` (errors count as false) until it holds, for at most 30 s. */
  until(check: () => Promise<boolean>, what: string): Promise<void>;
  /** A real click (mouse pressed and released) at the centre of the element with `id`. */
  click(id: string): Promise<void>;
}

export async function openTestView(options: TestViewOptions): Promise<TestView> {
  const { log } = options;
  const origin = viewOrigin(options.label);
  const chromium = ChromiumProcess.start({ waylandFd: options.waylandFd, name: options.name, windowClass: options.label, log });
  const page = await chromium.attachToPage();
  await serveOrigin({ cdp: chromium.cdp, sessionId: page, origin, file: options.file, entryUrl: `${origin}/index.html`, log });
  await options.beforeNavigate?.(chromium.cdp, page);
  await chromium.cdp.send("Runtime.enable", {}, page);
  await chromium.cdp.send("Page.navigate", { url: `${origin}/index.html` }, page);

  const evaluate = async (expression: string): Promise<any> => {
    const { result, exceptionDetails } = await chromium.cdp.send<{ result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } }>(
      "Runtime.evaluate",
      { expression, awaitPromise: true, returnByValue: true },
      page,
    );
    if (exceptionDetails) throw new Error(`page threw: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  };
  // A page that is not there yet throws: that only means "not yet".
  const untilOnPage = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    await until(check, what, 30_000, { everyMs: 50, retryErrors: true });
  };
  const click = async (id: string): Promise<void> => {
    const [x, y] = await evaluate(`(() => { const r = document.getElementById(${JSON.stringify(id)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`);
    for (const type of ["mousePressed", "mouseReleased"]) await chromium.cdp.send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 }, page);
  };
  return { chromium, page, origin, evaluate, until: untilOnPage, click };
}

/** A file map for `openTestView` from literal texts. */
export function textFiles(files: Record<string, string>): (path: string) => Uint8Array | undefined {
  return (path) => (files[path] === undefined ? undefined : new TextEncoder().encode(files[path]));
}
