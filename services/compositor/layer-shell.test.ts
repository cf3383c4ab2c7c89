/**
 * wlr-layer-shell end to end: Debian's swaybg (a layer-shell background) on connections from OpenClient.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pixelAt } from "./png.ts";
import { CompositorWorld } from "./testing.ts";

let world: CompositorWorld;

beforeAll(async () => {
  world = await CompositorWorld.start();
});

afterAll(async () => {
  await world?.close();
});

async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe("zwlr_layer_shell_v1", () => {
  test("an application-role client has no layer shell: swaybg gives up", async () => {
    const swaybg = await world.spawnClient(["swaybg", "-c", "#ff0000"], "application", 5n);
    const timer = setTimeout(() => swaybg.process.kill("SIGKILL"), 15_000);
    const { stderr } = await swaybg.output;
    clearTimeout(timer);
    expect(swaybg.process.exitCode).not.toBe(0);
    expect(swaybg.process.signalCode).toBeNull(); // it exited on its own, not by our timer
    expect(stderr).toContain("Missing a required Wayland interface"); // swaybg needs wl_compositor, wl_shm and the layer shell
  });

  test("swaybg on a shell-role connection paints the background when no application is shown", async () => {
    const before = await world.screenshot();
    expect(pixelAt(before, 640, 360)).toEqual([0, 0, 0]);
    const swaybg = await world.spawnClient(["swaybg", "-c", "#ff0000"], "shell", 1n);
    try {
      const shot = await until(async () => {
        const pixels = await world.screenshot();
        return pixelAt(pixels, 640, 360).join() === "255,0,0" ? pixels : undefined;
      }, "red from swaybg");
      // The whole output: corners too (anchored to all four edges, size 0x0 → stretched).
      for (const [x, y] of [[0, 0], [1279, 0], [0, 719], [1279, 719]] as const) expect(pixelAt(shot, x, y)).toEqual([255, 0, 0]);

      // An application window in the application area is drawn above the background (weston-simple-shm keeps
      // its own 250x250 size, at the area's top-left corner).
      const app = await world.spawnClient(["weston-simple-shm"], "application", 6n);
      await world.waitForWindows((ws) => ws.some((w) => w.session === 6n), "weston-simple-shm");
      await until(async () => (pixelAt(await world.screenshot(), 100, 100).join() !== "255,0,0" ? true : undefined), "the app covering the background");
      await app.kill();
      await world.waitForWindows((ws) => !ws.some((w) => w.session === 6n), "the app gone");
      await until(async () => (pixelAt(await world.screenshot(), 100, 100).join() === "255,0,0" ? true : undefined), "the background again");
    } finally {
      await swaybg.kill();
    }
    // Its surface goes with the client.
    await until(async () => (pixelAt(await world.screenshot(), 640, 360).join() === "0,0,0" ? true : undefined), "the background gone with swaybg");
  });
});
