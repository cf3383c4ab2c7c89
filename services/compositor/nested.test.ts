/**
 * The nested backend a developer uses on their desktop: weft-compositor as an X11 client (WLR_BACKENDS=x11 through
 * wlr_backend_autocreate, which also picks it by itself when DISPLAY is set and WLR_BACKENDS is unset), here inside
 * Debian's Xvfb. Real clients map in it like on headless.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { CompositorWorld } from "../../testing/compositor.ts";

let xvfb: Bun.Subprocess<"ignore", "pipe", "ignore">;
let display: string;
let world: CompositorWorld;

beforeAll(async () => {
  // -displayfd: Xvfb picks a free display number and writes it once it accepts connections.
  xvfb = Bun.spawn(["Xvfb", "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  const reader = (xvfb.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Xvfb exited before reporting its display");
    text += Buffer.from(value).toString();
  }
  display = `:${text.trim()}`;
  world = await CompositorWorld.start({ env: { DISPLAY: display, WLR_BACKENDS: "x11" } });
});

afterAll(async () => {
  await world?.close();
  xvfb?.kill();
  await xvfb?.exited;
});

test("the compositor runs nested in an X11 window and serves clients", async () => {
  const [outputs] = (await world.call("ListOutputs")) as [unknown[][]];
  expect(outputs).toHaveLength(1);
  expect(String(outputs[0]![0])).toStartWith("X11-");
  const [, , , width, height] = outputs[0] as [string, number, number, number, number];
  await world.spawnClient(["weston-simple-shm"], "application", 3n);
  const [window] = await world.waitForWindows((w) => w.length === 1, "weston-simple-shm in the nested compositor");
  expect(window).toMatchObject({ session: 3n, x: 0, y: 0, width, height, focused: true });
  const shot = await world.screenshot();
  expect([shot.width, shot.height]).toEqual([width, height]);
});
