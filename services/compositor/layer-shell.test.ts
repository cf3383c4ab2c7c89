/**
 * wlr-layer-shell end to end: Debian's swaybg (a layer-shell background) and our probe's layer surfaces
 * (exclusive zones) on connections from OpenClient, with weston-simple-shm as the application.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pixelAt } from "../common/image/png.ts";
import { ScriptProbe, until } from "../../testing/shell-probe.ts";
import { CompositorWorld } from "../../testing/compositor.ts";

let world: CompositorWorld;
let logDir: string;

beforeAll(async () => {
  world = await CompositorWorld.start();
  logDir = mkdtempSync(join(tmpdir(), "weft-layer-probe-"));
});

afterAll(async () => {
  await world?.close();
  rmSync(logDir, { recursive: true, force: true });
});

const TOP = 1;
const BOTTOM = 2;
const LEFT = 4;
const RIGHT = 8;

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

  test("an exclusive zone at an edge shrinks the application area; the surface is placed and configured by its anchors", async () => {
    const app = await world.spawnClient(["weston-simple-shm"], "application", 8n);
    const probe = await ScriptProbe.start(world, logDir, "shell", 1n);
    try {
      await world.waitForWindows((ws) => ws.some((w) => w.session === 8n && w.height === 720), "weston-simple-shm full size");
      // A 30-px bar in the top layer, anchored top/left/right with size 0x30: stretched to the output width.
      const events = await probe.run(`layer bar 2 ${TOP | LEFT | RIGHT} 0 30 30 #00ff00`);
      expect(events[0]).toEqual({ event: "layer_configure", window: "bar", width: 1280, height: 30 });
      await world.waitForWindows((ws) => ws.some((w) => w.session === 8n && w.y === 30 && w.height === 690), "the app below the bar");
      // A dock in the bottom-right corner reserves nothing (anchored to two edges that are not one side).
      await probe.run(`layer dock 3 ${BOTTOM | RIGHT} 200 100 50 #0000ff`);
      // A left strip with a zone: the app area loses 40 px on the left too.
      await probe.run(`layer side 2 ${LEFT | TOP | BOTTOM} 40 0 40 #ffff00`);
      expect(probe.of("side", "layer_configure")[0]).toMatchObject({ width: 40, height: 690 }); // below the bar's zone
      await world.waitForWindows((ws) => ws.some((w) => w.session === 8n && w.x === 40 && w.y === 30 && w.width === 1240 && w.height === 690), "the app right of the side strip");
      const shot = await until(async () => {
        const pixels = await world.screenshot();
        return pixelAt(pixels, 1279, 719).join() === "0,0,255" && pixelAt(pixels, 20, 400).join() === "255,255,0" ? pixels : undefined;
      }, "dock and side strip drawn");
      expect(pixelAt(shot, 640, 15)).toEqual([0, 255, 0]); // the bar, above the app
      expect(pixelAt(shot, 1080, 620)).toEqual([0, 0, 255]); // the dock's top-left corner
      expect(pixelAt(shot, 1079, 619)).not.toEqual([0, 0, 255]);

      // Gone again: the application area grows back.
      await probe.run("layer-destroy side");
      await probe.run("layer-destroy bar");
      await world.waitForWindows((ws) => ws.some((w) => w.session === 8n && w.x === 0 && w.y === 0 && w.height === 720), "the app at full size again");
    } finally {
      await probe.close();
      await app.kill();
    }
  });

  test("an application-role client cannot make layer surfaces", async () => {
    const probe = await ScriptProbe.start(world, logDir, "application", 9n);
    const events = await probe.run("layer bar 2 1 0 30 30 #00ff00").catch(() => probe.events());
    expect(events.map((e) => e.event)).toContain("layer_shell_absent");
    await probe.close();
  });
});
