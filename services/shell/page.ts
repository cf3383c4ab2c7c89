/**
 * The system UI page: Debian's Chromium on a shell-role compositor connection, showing services/shell/ui/ from
 * `https://shell.weft.invalid` (serveOrigin: nothing else reachable, strict CSP), with the UI kit injected.
 *
 * The page and the shell process talk only through DevTools, never a port:
 *
 *   page → shell   window.weftShellSend(string)  (Runtime.addBinding; arrives as Runtime.bindingCalled with the
 *                  string as payload; at most MAX_PAGE_MESSAGE characters, anything longer is dropped)
 *   shell → page   Runtime.evaluate of `globalThis.weftShellReceive?.(<JSON literal>)`: the message is data
 *                  written with JSON.stringify, never code built from strings
 *
 * The page is treated as hostile: every message from it is validated by desktop.ts before it becomes a call.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChromiumProcess } from "../common/chromium/chromium.ts";
import { serveOrigin, viewOrigin } from "../common/chromium/origin.ts";
import type { Logger } from "../common/daemon/log.ts";
import { injectUiKit } from "../common/ui-kit/index.ts";

export const UI_DIR = join(import.meta.dir, "ui");
/** The page's files: nothing else under ui/ (or anywhere) is served. */
export const UI_FILES = ["system-ui.html", "system-ui.css", "system-ui.js"] as const;
export const SHELL_ORIGIN = viewOrigin("shell");
export const ENTRY_URL = `${SHELL_ORIGIN}/system-ui.html`;
export const BINDING = "weftShellSend";
export const MAX_PAGE_MESSAGE = 4096;

export interface ShellPageOptions {
  waylandFd: number;
  log: Logger;
  /** Called with each string the page sent (already length-checked, not yet parsed). */
  onMessage: (payload: string) => void;
}

export class ShellPage {
  readonly #sessionId: string;

  private constructor(
    readonly chromium: ChromiumProcess,
    sessionId: string,
    readonly log: Logger,
  ) {
    this.#sessionId = sessionId;
  }

  /** Starts Chromium on `waylandFd`, serves the page and loads it. */
  static async start(options: ShellPageOptions): Promise<ShellPage> {
    const files = new Map<string, Uint8Array>();
    for (const name of UI_FILES) files.set(name, readFileSync(join(UI_DIR, name)));
    const chromium = ChromiumProcess.start({ waylandFd: options.waylandFd, name: "shell", windowClass: "org.weft.shell", log: options.log, extraArgs: [`--app=${ENTRY_URL}`] });
    try {
      const sessionId = await chromium.attachToPage();
      const cdp = chromium.cdp;
      await serveOrigin({ cdp, sessionId, origin: SHELL_ORIGIN, file: (path) => files.get(path), entryUrl: ENTRY_URL, log: options.log });
      cdp.on("Runtime.bindingCalled", (params, from) => {
        if (from !== sessionId || params.name !== BINDING) return;
        const payload = params.payload;
        if (typeof payload !== "string" || payload.length > MAX_PAGE_MESSAGE) {
          options.log.warn("dropped a page message that is not a string of at most 4096 characters", {});
          return;
        }
        options.onMessage(payload);
      });
      await cdp.send("Runtime.enable", {}, sessionId);
      await cdp.send("Runtime.addBinding", { name: BINDING }, sessionId);
      if ((await injectUiKit(cdp, sessionId)) === undefined) options.log.warn("no UI kit file: the page runs without it", {});
      await cdp.send("Page.navigate", { url: ENTRY_URL }, sessionId);
      return new ShellPage(chromium, sessionId, options.log);
    } catch (error) {
      await chromium.stop();
      throw error;
    }
  }

  /** Delivers `message` to the page's weftShellReceive; a page that is not ready yet misses it (it asks again with hello). */
  send(message: unknown): void {
    const expression = `globalThis.weftShellReceive?.(${JSON.stringify(message)}), 0`;
    void this.chromium.cdp.send("Runtime.evaluate", { expression, returnByValue: true }, this.#sessionId).catch((error) => {
      this.log.debug("a message did not reach the page", { error: String(error) });
    });
  }

  /**
   * Evaluates `expression` (built by the caller from JSON literals only) and returns its value, or throws when
   * the page threw or did not answer within `timeoutMs`.
   */
  async evaluate(expression: string, timeoutMs = 5_000): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the page did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const reply = await Promise.race([
        this.chromium.cdp.send<{ result: { value?: unknown }; exceptionDetails?: { text: string } }>(
          "Runtime.evaluate",
          { expression, returnByValue: true, timeout: timeoutMs },
          this.#sessionId,
        ),
        timeout,
      ]);
      if (reply.exceptionDetails) throw new Error(`the page threw: ${reply.exceptionDetails.text}`);
      return reply.result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with Chromium's exit code once it is gone. */
  get exited(): Promise<number | null> {
    return this.chromium.exited;
  }

  stop(): Promise<void> {
    return this.chromium.stop();
  }
}
