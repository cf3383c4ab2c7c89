/**
 * The weftIpc bridge between an app's page and this app-shell, over the DevTools pipe only (no WebSocket, no
 * port):
 *
 *   page  weftIpc.send(s) ──► binding (Runtime.addBinding) ──Runtime.bindingCalled──► app-shell ──Post──► runtime
 *   page  weftIpc.onmessage(s) ◄── delivery function ◄──Runtime.evaluate── app-shell ◄──Message── runtime
 *   page  weftIpc.ondrop({dropped, reason}) ◄── drop function ◄──Runtime.evaluate── app-shell (messages of the
 *         page that never reached the app: too many in flight, the app's queue full; counted, at most one
 *         notice per DROP_NOTICE_MS)
 *
 * The page script (Page.addScriptToEvaluateOnNewDocument, before the first navigation) takes the binding
 * into its closure and deletes the global, defines `weftIpc` and `weftSessionId` as non-writable,
 * non-configurable globals, and a delivery function under a name chosen at random per app-shell. What the page
 * sends is checked twice: in the page (a string, at most MAX_PAYLOAD_LENGTH characters: send throws otherwise)
 * and here (the binding's caller must be the main frame's page world on the view's origin; a string within
 * the limit); anything else is dropped and logged.
 */

import { randomBytes } from "node:crypto";
import type { CdpConnection } from "../common/chromium/cdp.ts";
import type { Logger } from "../common/daemon/log.ts";
import { MAX_PAYLOAD_LENGTH } from "../../protocol/limits.ts";

/** Messages for the page held while it has no document (a reload): the runtime's own limit for held messages. */
export const MAX_HELD_FOR_PAGE = 256;

export interface BridgeOptions {
  cdp: CdpConnection;
  /** The page target's flattened session. */
  target: string;
  origin: string;
  sessionId: bigint;
  log: Logger;
  /** A message the page sent, already checked. */
  onPageMessage: (payload: string) => void;
}

/** How often, at most, the page is told that messages it sent were dropped (each notice carries the count). */
export const DROP_NOTICE_MS = 100;

/** The script every document of the view runs first. `binding`, `deliver` and `dropped` are global names. */
export function bridgeScript(binding: string, deliver: string, sessionId: bigint, dropped: string): string {
  return `(() => {
  "use strict";
  const post = globalThis[${JSON.stringify(binding)}];
  if (typeof post !== "function") return;
  // Only send() below may reach the app-shell, so every message passes its checks.
  delete globalThis[${JSON.stringify(binding)}];
  const MAX = ${MAX_PAYLOAD_LENGTH};
  const HELD = ${MAX_HELD_FOR_PAGE};
  const held = [];
  let handler = null;
  let dropHandler = null;
  const hand = (message) => {
    try {
      handler.call(bridge, message);
    } catch (error) {
      console.error("weftIpc.onmessage threw", error);
    }
  };
  const bridge = {};
  Object.defineProperties(bridge, {
    send: {
      value: function send(message) {
        if (typeof message !== "string") throw new TypeError("weftIpc.send takes a string");
        if (message.length > MAX) throw new RangeError("weftIpc.send: a message may be at most " + MAX + " characters");
        post(message);
      },
      enumerable: true,
    },
    onmessage: {
      get: () => handler,
      set: (value) => {
        handler = typeof value === "function" ? value : null;
        if (handler !== null) for (const message of held.splice(0)) hand(message);
      },
      enumerable: true,
    },
    ondrop: {
      get: () => dropHandler,
      set: (value) => {
        dropHandler = typeof value === "function" ? value : null;
      },
      enumerable: true,
    },
  });
  Object.preventExtensions(bridge);
  Object.defineProperty(globalThis, "weftIpc", { value: bridge, enumerable: true });
  Object.defineProperty(globalThis, "weftSessionId", { value: ${JSON.stringify(String(sessionId))}, enumerable: true });
  Object.defineProperty(globalThis, ${JSON.stringify(deliver)}, {
    value: (message) => {
      if (handler !== null) hand(message);
      else if (held.length < HELD) held.push(message);
      else console.warn("weftIpc: a message was dropped; set weftIpc.onmessage to receive them");
    },
  });
  Object.defineProperty(globalThis, ${JSON.stringify(dropped)}, {
    value: (count, reason) => {
      if (dropHandler === null) {
        console.warn("weftIpc: " + count + " sent message(s) never reached the app: " + reason + "; set weftIpc.ondrop to know");
        return;
      }
      try {
        dropHandler.call(bridge, Object.freeze({ dropped: count, reason }));
      } catch (error) {
        console.error("weftIpc.ondrop threw", error);
      }
    },
  });
})();`;
}

interface ExecutionContext {
  id: number;
  origin: string;
  auxData?: { isDefault?: boolean; frameId?: string };
}

export class Bridge {
  readonly #options: BridgeOptions;
  readonly #binding = `__weftIpc_${randomBytes(12).toString("hex")}`;
  readonly #deliver = `__weftDeliver_${randomBytes(12).toString("hex")}`;
  readonly #droppedNotice = `__weftDropped_${randomBytes(12).toString("hex")}`;
  /** Page messages dropped since the last notice, and why the last one was. */
  #unreported = { count: 0, reason: "" };
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #mainFrameId = "";
  /** The main frame's page-world context on the view's origin, when there is one. */
  #pageContext: number | undefined;
  readonly #heldForPage: string[] = [];
  #droppedLogged = 0;

  constructor(options: BridgeOptions) {
    this.#options = options;
  }

  /** Registers the binding and the page script; call before the first navigation. */
  async install(): Promise<void> {
    const { cdp, target } = this.#options;
    cdp.on("Runtime.executionContextCreated", (params, from) => {
      if (from !== target) return;
      const context = params.context as ExecutionContext;
      if (context.auxData?.isDefault === true && context.auxData.frameId === this.#mainFrameId && context.origin === this.#options.origin) {
        this.#pageContext = context.id;
        for (const payload of this.#heldForPage.splice(0)) this.deliver(payload);
      }
    });
    cdp.on("Runtime.executionContextDestroyed", (params, from) => {
      if (from === target && params.executionContextId === this.#pageContext) this.#pageContext = undefined;
    });
    cdp.on("Runtime.executionContextsCleared", (_params, from) => {
      if (from === target) this.#pageContext = undefined;
    });
    cdp.on("Runtime.bindingCalled", (params, from) => {
      if (from !== target || params.name !== this.#binding) return;
      this.#fromPage(params.payload, params.executionContextId as number);
    });
    const { frameTree } = await cdp.send<{ frameTree: { frame: { id: string } } }>("Page.getFrameTree", {}, target);
    this.#mainFrameId = frameTree.frame.id;
    await cdp.send("Runtime.addBinding", { name: this.#binding }, target);
    await cdp.send("Page.addScriptToEvaluateOnNewDocument", { source: bridgeScript(this.#binding, this.#deliver, this.#options.sessionId, this.#droppedNotice) }, target);
    await cdp.send("Runtime.enable", {}, target);
  }

  /** Whether the page's document is on the view's origin with the bridge in it. */
  get pageReady(): boolean {
    return this.#pageContext !== undefined;
  }

  #fromPage(payload: unknown, contextId: number): void {
    if (contextId !== this.#pageContext) {
      this.#dropped("a message from a context that is not the view's page", { context: contextId });
      return;
    }
    if (typeof payload !== "string" || payload.length > MAX_PAYLOAD_LENGTH) {
      this.#dropped("a message that is not a string of at most the message limit", { type: typeof payload, length: typeof payload === "string" ? payload.length : 0 });
      return;
    }
    this.#options.onPageMessage(payload);
  }

  #dropped(what: string, fields: Record<string, unknown>): void {
    // A page sending garbage in a loop must not flood the log: the first 20, then every 1000th.
    this.#droppedLogged++;
    if (this.#droppedLogged <= 20 || this.#droppedLogged % 1000 === 0) this.#options.log.warn(`dropped ${what}`, { ...fields, dropped: this.#droppedLogged });
  }

  /**
   * A message the page sent did not reach the app (`reason`): the page's `weftIpc.ondrop` hears of it, with the
   * count, at most once per DROP_NOTICE_MS, so a page that floods is told without being flooded back.
   */
  pageMessageDropped(reason: string): void {
    this.#unreported.count++;
    this.#unreported.reason = reason;
    this.#noticeTimer ??= setTimeout(() => {
      this.#noticeTimer = undefined;
      const { count, reason: last } = this.#unreported;
      this.#unreported = { count: 0, reason: "" };
      if (this.#pageContext === undefined || count === 0) return; // the document that sent them is gone
      const expression = `globalThis[${JSON.stringify(this.#droppedNotice)}](${count}, ${JSON.stringify(last)})`;
      void this.#options.cdp.send("Runtime.evaluate", { expression, contextId: this.#pageContext, returnByValue: true }, this.#options.target).catch((error) =>
        this.#options.log.warn("could not tell the page about dropped messages", { error: String(error).slice(0, 200) }),
      );
    }, DROP_NOTICE_MS);
  }

  /** Hands a runtime message to the page's `weftIpc.onmessage` (held while the page has no document). */
  deliver(payload: string): void {
    const { cdp, target, log } = this.#options;
    if (this.#pageContext === undefined) {
      if (this.#heldForPage.length < MAX_HELD_FOR_PAGE) this.#heldForPage.push(payload);
      else this.#dropped("a message for the page while it has no document", {});
      return;
    }
    const expression = `globalThis[${JSON.stringify(this.#deliver)}](${JSON.stringify(payload)})`;
    void cdp.send("Runtime.evaluate", { expression, contextId: this.#pageContext, returnByValue: true }, target).catch((error) =>
      log.warn("could not deliver a message to the page", { error: String(error).slice(0, 200) }),
    );
  }
}
