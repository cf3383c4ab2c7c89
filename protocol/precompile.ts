/**
 * weft-pack asks the runtime's precompiler to compile an installed app for this machine's Wasmtime, as a process
 * of its own (weft-pack does not load Wasmtime):
 *
 *   bun services/runtime/precompile.ts <app_id>     → one line on stdout: a PrecompileOutcome as JSON; exit 0
 *                                                     (exit 2: usage; anything else: it failed, stderr says why)
 *
 * The precompiler verifies the package itself and compiles only its verified bytes into the cache.
 */

import * as v from "valibot";

export type PrecompileOutcome = { compiled: boolean; file: string; milliseconds: number } | { skipped: string };

const OutcomeSchema = v.union([
  v.strictObject({ compiled: v.boolean(), file: v.pipe(v.string(), v.maxLength(4096)), milliseconds: v.pipe(v.number(), v.finite(), v.minValue(0)) }),
  v.strictObject({ skipped: v.pipe(v.string(), v.maxLength(4096)) }),
]);

/** The precompiler's answer, read back (a wrong shape is an Error naming it). */
export function parsePrecompileOutcome(text: string): PrecompileOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the precompiler's answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const parsed = v.safeParse(OutcomeSchema, value);
  if (!parsed.success) throw new Error(`the precompiler's answer has the wrong shape: ${JSON.stringify(text.slice(0, 200))}`);
  return parsed.output;
}
