/** One measured quantity beside the baseline it is judged against. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
  /** value / baseline.value: below 1 is faster (or smaller) than the baseline. */
  ratio: number;
}

export function result(name: string, value: number, unit: string, baselineName: string, baselineValue: number): BenchResult {
  return { name, value, unit, baseline: { name: baselineName, value: baselineValue }, ratio: value / baselineValue };
}

/** Median of a sample (copies, does not reorder the caller's array). */
export function median(samples: number[]): number {
  return percentile(samples, 50);
}

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new Error("percentile of an empty sample");
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => [r.name, `${fmt(r.value)} ${r.unit}`, `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit}`, `${r.ratio.toFixed(2)}×`]);
  const header = ["benchmark", "value", "baseline (same run)", "ratio"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
