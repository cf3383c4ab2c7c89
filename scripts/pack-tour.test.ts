/** The package-manager tour (scripts/pack-tour.ts), run as a user runs it: every step must pass and the summary must say so. */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("the package-manager tour passes all its steps and writes summary.json", async () => {
  const out = mkdtempSync(join(tmpdir(), "weft-pack-tour-"));
  try {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "pack-tour.ts"), "--out", out], { stdout: "pipe", stderr: "pipe" });
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    expect(stdout).toContain("steps passed");
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.ok).toBe(true);
    expect(summary.steps.map((s: { name: string }) => s.name)).toContain('counter: increment ×3, get → {"count":3}');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
