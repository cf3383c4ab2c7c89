/**
 * libweft-compositor through bun:ffi, without D-Bus: start/stop twice in one process, clients disconnecting
 * are forgotten, clients still connected at stop are disconnected, 100 connect/disconnect cycles leave no client behind, calls after stop fail cleanly.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("the native compositor starts, serves, forgets departed clients and stops, twice in one process", async () => {
  const runtimeDir = mkdtempSync(join(tmpdir(), "weft-compositor-xdg-"));
  try {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "native-fixture.ts")], {
      env: { ...process.env, WLR_BACKENDS: "headless", WLR_RENDERER: "pixman", XDG_RUNTIME_DIR: runtimeDir, WAYLAND_DISPLAY: "", DISPLAY: "" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(timer);
    expect({ exitCode, stderr: exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stderr: "" });
    const observed = JSON.parse(stdout) as Record<string, unknown>;
    for (const run of [0, 1]) {
      expect(observed[`outputs${run}`]).toEqual([{ name: "HEADLESS-1", x: 0, y: 0, width: 1280, height: 720 }]);
      expect(observed[`held${run}`]).toBe(2);
      expect(observed[`afterClose${run}`]).toBe(0);
      expect(observed[`afterCycles${run}`]).toBe(0);
      expect(observed[`endOfFileAtStop${run}`]).toBe(true);
      expect(observed[`afterStop${run}`]).toBe("CompositorError");
    }
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
});

test("100 real clients mapping a window and dying leave no client, no window and a flat C heap", async () => {
  const runtimeDir = mkdtempSync(join(tmpdir(), "weft-compositor-xdg-"));
  try {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "window-cycles-fixture.ts")], {
      env: { ...process.env, WLR_BACKENDS: "headless", WLR_RENDERER: "pixman", XDG_RUNTIME_DIR: runtimeDir, WAYLAND_DISPLAY: "", DISPLAY: "" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(timer);
    expect({ exitCode, stderr: exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stderr: "" });
    const observed = JSON.parse(stdout) as { cycles: number; heapBefore: number; heapAfter: number; clients: number; windows: number; mapped: number; closed: number };
    expect(observed).toMatchObject({ clients: 0, windows: 0, mapped: 110, closed: 110 });
    // A leaked client, surface or view per cycle would be several KiB each: 100 of them stand out above 256 KiB.
    expect(observed.heapAfter - observed.heapBefore).toBeLessThan(256 * 1024);
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}, 120_000);
