/**
 * weft-shell's D-Bus surface, org.weft.Shell1 at /org/weft/Shell1 (protocol/dbus/org.weft.Shell1.xml).
 *
 * ElementRect/ElementText read the system UI page: what it shows includes every notification's text, so they
 * exist for tests and scripted demos only, when the shell was started with WEFT_SHELL_INSPECT=1, and answer
 * only callers with the shell's uid. The selector reaches the page as a JSON string literal inside a fixed
 * expression (never as code), after checks here; the page's answer is checked too (the page is not trusted).
 */

import * as v from "valibot";
import { Shell, Shell1 } from "../../protocol/dbus/index.ts";
import { busError, requireSameUid, type BusConnection, type CallContext, type Served } from "../common/bus/index.ts";
import type { Desktop } from "./desktop.ts";
export const MAX_SELECTOR = 512;
export const MAX_TEXT = 65_536;

/** Whether inspection is on: exactly WEFT_SHELL_INSPECT=1. */
export function inspectionEnabled(env: Record<string, string | undefined>): boolean {
  return env.WEFT_SHELL_INSPECT === "1";
}

/** What the interface needs from the page: evaluate a fixed expression and return its value. */
export interface PageEvaluator {
  evaluate(expression: string): Promise<unknown>;
}

function checkSelector(selector: string): void {
  if (selector.trim() === "") throw busError(Shell1, "InvalidArgs", "the selector is empty: give a CSS selector such as #clock");
  if (selector.length > MAX_SELECTOR) throw busError(Shell1, "InvalidArgs", `the selector has ${selector.length} characters; at most ${MAX_SELECTOR}`);
  if (/[\u0000-\u001f\u007f]/.test(selector)) throw busError(Shell1, "InvalidArgs", "the selector has control characters");
}

const AnswerSchema = v.union([
  v.strictObject({ error: v.picklist(["syntax", "none"]) }),
  v.strictObject({ rect: v.tuple([v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite())]) }),
  v.strictObject({ text: v.pipe(v.string(), v.maxLength(MAX_TEXT)) }),
]);

/**
 * Finds the first element matching `selector` on the page and returns its box or its text. The expression is
 * fixed; the selector is a JSON literal in it.
 */
async function inspect(page: PageEvaluator, selector: string, what: "rect"): Promise<[number, number, number, number]>;
async function inspect(page: PageEvaluator, selector: string, what: "text"): Promise<string>;
async function inspect(page: PageEvaluator, selector: string, what: "rect" | "text"): Promise<[number, number, number, number] | string> {
  checkSelector(selector);
  const read =
    what === "rect"
      ? "(() => { const r = element.getBoundingClientRect(); return { rect: [r.x, r.y, r.width, r.height] }; })()"
      : `({ text: String(element.innerText ?? element.textContent ?? "").slice(0, ${MAX_TEXT}) })`;
  const expression = `(() => { let element; try { element = document.querySelector(${JSON.stringify(selector)}); } catch { return { error: "syntax" }; } if (element === null) return { error: "none" }; return ${read}; })()`;
  let answer: unknown;
  try {
    answer = await page.evaluate(expression);
  } catch (error) {
    throw busError(Shell1, "Failed", `the system UI page did not answer: ${(error as Error).message}`);
  }
  const parsed = v.safeParse(AnswerSchema, answer);
  if (!parsed.success) throw busError(Shell1, "Failed", "the system UI page gave an answer of the wrong shape");
  const value = parsed.output;
  if ("error" in value) {
    if (value.error === "syntax") throw busError(Shell1, "InvalidArgs", `${JSON.stringify(selector.slice(0, 100))} is not a valid CSS selector`);
    throw busError(Shell1, "NotFound", `no element of the system UI matches ${JSON.stringify(selector.slice(0, 100))}`);
  }
  if ("rect" in value) {
    if (what !== "rect") throw busError(Shell1, "Failed", "the system UI page gave an answer of the wrong shape");
    return value.rect;
  }
  if (what !== "text") throw busError(Shell1, "Failed", "the system UI page gave an answer of the wrong shape");
  return value.text;
}

export function exportShell(bus: BusConnection, desktop: Desktop, page: PageEvaluator, inspect_: boolean): Served<typeof Shell1> {
  const requireInspection = async (ctx: CallContext) => {
    await requireSameUid(ctx, Shell1);
    if (!inspect_) throw busError(Shell1, "NotEnabled", `${ctx.member} is for tests: start weft-shell with WEFT_SHELL_INSPECT=1`);
  };
  return bus.serve(Shell1, Shell.path, {
    methods: {
      OpenLauncher: async (_args, ctx) => {
        await requireSameUid(ctx, Shell1);
        await desktop.openLauncher();
      },
      CloseLauncher: async (_args, ctx) => {
        await requireSameUid(ctx, Shell1);
        desktop.setLauncher(false);
      },
      ElementRect: async ([selector], ctx) => {
        await requireInspection(ctx);
        return inspect(page, selector, "rect");
      },
      ElementText: async ([selector], ctx) => {
        await requireInspection(ctx);
        return inspect(page, selector, "text");
      },
    },
  }, { maxStringLength: 64 * 1024 }); // above the selector limit, so the handler names it
}
