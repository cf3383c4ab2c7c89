/**
 * Where the UI kit lives and how a view host injects it (docs/ui-kit.md). weft-shell injects it into the system
 * UI, weft-app-shell into every app UI: as a script evaluated on every new document of the view's page, before
 * the page's own scripts, so the elements are defined when the parser meets them.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CdpConnection } from "../chromium/cdp.ts";

/** The kit's file: services/common/ui-kit/weft-ui-kit.js. */
export const UI_KIT_PATH = join(import.meta.dir, "weft-ui-kit.js");

/** The kit's source, or undefined when the file is not there (a view then works without it). */
export function uiKitSource(path = UI_KIT_PATH): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * Registers the kit on the page target `sessionId`; resolves with the script's identifier (for
 * Page.removeScriptToEvaluateOnNewDocument), or undefined when there is no kit file.
 */
export async function injectUiKit(cdp: CdpConnection, sessionId: string, path = UI_KIT_PATH): Promise<string | undefined> {
  const source = uiKitSource(path);
  if (source === undefined) return undefined;
  const { identifier } = await cdp.send<{ identifier: string }>("Page.addScriptToEvaluateOnNewDocument", { source }, sessionId);
  return identifier;
}
