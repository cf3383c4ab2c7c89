/**
 * Reading a page from outside, for tests and the demo driver: where an element is (to click it through the
 * compositor's test input) and what text it shows. Off unless the app-shell was started with
 * WEFT_APP_SHELL_INSPECT=1: reading what a page shows is reading what the user sees and types in the app (notes,
 * messages), which no other process should get on a real system.
 *
 * Every query runs in an isolated world of the main frame (Page.createIsolatedWorld): the page's scripts share
 * the DOM but not the globals, so a page that replaces `document.querySelector` or `Element.prototype` getters
 * cannot lie to the query.
 */

import { CdpError, type CdpConnection } from "../common/chromium/cdp.ts";

export const INSPECT_ENV = "WEFT_APP_SHELL_INSPECT";
/** Longest selector accepted; a selector's cost grows with its length. */
export const MAX_SELECTOR_LENGTH = 1024;
/** Longest text ElementText returns (the rest is cut). */
export const MAX_TEXT_LENGTH = 64 * 1024;
/** A page whose main thread is busy does not answer; the caller gets Failed after this. */
const QUERY_TIMEOUT_MS = 5_000;
/** Tries of a query that a navigation interrupted (the page reloading on its origin). */
const NAVIGATION_RETRIES = 5;

export function inspectEnabled(env: Record<string, string | undefined>): boolean {
  return env[INSPECT_ENV] === "1";
}

export class InspectError extends Error {
  constructor(
    readonly errorName: "InvalidArgs" | "NotFound" | "Failed",
    message: string,
  ) {
    super(message);
  }
}

/** Checked before it reaches the page: a string of printable characters, not too long. */
export function checkSelector(selector: string): void {
  if (selector.length === 0) throw new InspectError("InvalidArgs", "the selector is empty: give a CSS selector like #count");
  if (selector.length > MAX_SELECTOR_LENGTH) throw new InspectError("InvalidArgs", `a selector may be at most ${MAX_SELECTOR_LENGTH} characters`);
  // biome-ignore lint: control characters are what we look for
  if (/[\u0000-\u001f\u007f]/.test(selector)) throw new InspectError("InvalidArgs", "the selector holds control characters");
}

export interface ElementBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export class PageInspector {
  constructor(
    private readonly cdp: CdpConnection,
    private readonly target: string,
    private readonly mainFrameId: () => Promise<string>,
  ) {}

  /** The element's border box in window coordinates (logical pixels; the page fills the window). */
  async elementRect(selector: string): Promise<ElementBox> {
    const found = (await this.#query(selector, `const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height, top: window.outerHeight - window.innerHeight };`)) as ElementBox & { top: number };
    return { x: found.x, y: found.y + Math.max(0, found.top), width: found.width, height: found.height };
  }

  async elementText(selector: string): Promise<string> {
    // Form fields show their value, not their (initial) text content.
    const text = (await this.#query(selector, "return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el.value : (el.textContent ?? '');")) as string;
    return text.slice(0, MAX_TEXT_LENGTH);
  }

  async #query(selector: string, body: string): Promise<unknown> {
    checkSelector(selector);
    const expression = `(() => {
      let el;
      try { el = document.querySelector(${JSON.stringify(selector)}); } catch (error) { return { problem: "syntax", message: String(error.message).slice(0, 200) }; }
      if (el === null) return { problem: "missing" };
      return { value: (() => { ${body} })() };
    })()`;
    const evaluation = this.#evaluateInIsolatedWorld(expression);
    const timeout = Bun.sleep(QUERY_TIMEOUT_MS).then(() => undefined);
    const answer = await Promise.race([evaluation, timeout]);
    if (answer === undefined) throw new InspectError("Failed", `the page did not answer within ${QUERY_TIMEOUT_MS / 1000} s`);
    const result = answer.result.value;
    if (answer.exceptionDetails !== undefined || result === undefined) throw new InspectError("Failed", "the query failed in the page");
    if (result.problem === "syntax") throw new InspectError("InvalidArgs", `not a valid CSS selector: ${result.message ?? ""}`);
    if (result.problem === "missing") throw new InspectError("NotFound", `no element matches ${JSON.stringify(selector.slice(0, 100))}`);
    return result.value;
  }

  /**
   * Evaluates in a fresh isolated world of the main frame. A navigation between creating the world and
   * evaluating in it destroys the world ("Cannot find context"): then the query runs again in the new document's
   * frame, a few times at most, instead of failing a caller who merely asked while the page was reloading.
   */
  async #evaluateInIsolatedWorld(expression: string) {
    for (let attempt = 1; ; attempt++) {
      const frameId = await this.mainFrameId();
      try {
        const { executionContextId } = await this.cdp.send<{ executionContextId: number }>("Page.createIsolatedWorld", { frameId, worldName: "weft-inspect" }, this.target);
        return await this.cdp.send<{ result: { value?: { problem?: string; message?: string; value?: unknown } }; exceptionDetails?: unknown }>(
          "Runtime.evaluate",
          { expression, contextId: executionContextId, returnByValue: true, timeout: QUERY_TIMEOUT_MS },
          this.target,
        );
      } catch (error) {
        const navigatedAway = error instanceof CdpError && /Cannot find context|context was destroyed|No frame with given id/i.test(error.message);
        if (!navigatedAway || attempt >= NAVIGATION_RETRIES) throw error;
        await Bun.sleep(50);
      }
    }
  }
}
