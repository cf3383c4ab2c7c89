/**
 * The README's main job, as a user runs it: `weft session --demo` on a fresh store, headless, with the real
 * compositor, shell, appd, runtimes, app-shells and Chromium. Every step must pass its own checks (counter shows
 * 3 in the page and on screen; the relaunched Notes shows the saved note), and the output folder must hold a
 * screenshot per step and summary.json.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("weft session --demo passes every step and writes screenshots and summary.json", async () => {
  const out = mkdtempSync(join(tmpdir(), "weft-session-demo-"));
  try {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "../services/desktop-session/main.ts"), "session", "--demo", "--out", out], {
      env: { PATH: process.env.PATH!, LANG: "C.UTF-8" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) console.error(stdout, stderr, existsSync(join(out, "services.log")) ? readFileSync(join(out, "services.log"), "utf8").slice(-4000) : "");
    expect(code).toBe(0);
    expect(stdout).toContain("steps passed");
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { ok: boolean; steps: { name: string; ms: number; screenshot?: string; detail?: string }[] };
    expect(summary.ok).toBe(true);
    const names = summary.steps.map((s) => s.name);
    expect(names).toContain("click + three times: the page shows 3");
    expect(names).toContain("launch Notes again: the note is there");
    expect(summary.steps.find((s) => s.name === "click + three times: the page shows 3")?.detail).toStartWith("page: 3;");
    for (const step of summary.steps) {
      expect(step.ms).toBeGreaterThan(0);
      if (step.screenshot !== undefined) expect(existsSync(join(out, step.screenshot))).toBe(true);
    }
    expect(summary.steps.filter((s) => s.screenshot !== undefined).length).toBeGreaterThanOrEqual(7);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
