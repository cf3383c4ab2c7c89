/**
 * `bun run bench`: every performance target of the project, each measured against a baseline taken in the
 * same run on the same machine, so the printed ratio means something on any machine. Results also go to
 * `out/bench.json`. Targets are read from the ratios here, never asserted in tests.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchResult } from "./result.ts";
import { formatTable } from "./result.ts";

type Bench = { name: string; run: () => Promise<BenchResult[]> };

const benches: Bench[] = [
  { name: "package verify", run: async () => (await import("./verify.ts")).benchVerify() },
  { name: "D-Bus round trip", run: async () => (await import("./bus.ts")).benchBus() },
  { name: "wasmtime host call", run: async () => (await import("./wasmtime.ts")).benchHostCall() },
  { name: "runtime", run: async () => (await import("./runtime.ts")).benchRuntime() },
  { name: "compositor", run: async () => (await import("./compositor.ts")).benchCompositor() },
  { name: "app-shell", run: async () => (await import("./app-shell.ts")).benchAppShell() },
  { name: "vm boot", run: async () => (await import("../vm/bench.ts")).benchVm() },
];

const only = process.argv[2];
const results: BenchResult[] = [];
for (const bench of benches) {
  if (only !== undefined && !bench.name.includes(only)) continue;
  process.stderr.write(`bench: ${bench.name}…\n`);
  results.push(...(await bench.run()));
}
console.log(formatTable(results));
const outDir = join(import.meta.dir, "../out");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "bench.json"), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
