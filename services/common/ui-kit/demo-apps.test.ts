/**
 * The demo apps' pages (apps/dist/<id>/ui, the signed packages' files) with and without the UI kit, in real
 * Chromium on the real compositor: their ids (#increment #decrement #reset #count #status; #editor #save
 * #discard #status #chars) behave as before. The bridge a WEFT app-shell injects (window.weftIpc) is played by
 * a recorder defined in the page, so the test sees what the page sends and answers as the component would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CompositorWorld } from "../../../testing/compositor.ts";
import { openTestView } from "../../../testing/chromium.ts";
import { createLogger } from "../daemon/log.ts";
import { DEMO_DIST } from "../../../testing/runtime.ts";
import { injectUiKit } from "./index.ts";

const log = createLogger("demo-apps-test", { level: "warn" });
let world: CompositorWorld;

beforeAll(async () => {
  world = await CompositorWorld.start();
}, 60_000);

afterAll(async () => {
  await world?.close();
});

/** A demo app's page in its own Chromium, with or without the kit. */
async function openApp(appId: string, session: bigint, withKit: boolean) {
  const root = join(DEMO_DIST, appId);
  const view = await openTestView({
    waylandFd: await world.openClient("application", session),
    label: appId,
    name: `demo-${session}`,
    file: (path) => {
      const file = join(root, "ui", path);
      return !path.includes("..") && existsSync(file) ? readFileSync(file) : undefined;
    },
    log,
    beforeNavigate: async (cdp, page) => {
      if (withKit) await injectUiKit(cdp, page);
      // The bridge, as an app-shell defines it before the page's scripts: here it records what is sent.
      await cdp.send("Page.addScriptToEvaluateOnNewDocument", { source: "window.sent = []; window.weftIpc = { send(m) { sent.push(m); }, onmessage: null };" }, page);
    },
  });
  const taken = async (): Promise<string[]> => view.evaluate("sent.splice(0)");
  return { ...view, taken };
}

for (const withKit of [true, false]) {
  describe(withKit ? "with the UI kit" : "without the UI kit", () => {
    test("counter: the buttons send their commands, replies show the count, and they are disabled until connected", async () => {
      const app = await openApp("org.weft.demo.counter", withKit ? 11n : 12n, withKit);
      try {
        await app.until(async () => (await app.evaluate("sent.length")) > 0, "the first request");
        expect(await app.taken()).toEqual(["get"]);
        expect(await app.evaluate(`customElements.get("weft-button") !== undefined`)).toBe(withKit);
        expect(await app.evaluate(`["increment", "decrement", "reset"].map((id) => document.getElementById(id).hasAttribute("disabled"))`)).toEqual([false, false, false]);
        await app.click("increment");
        await app.click("increment");
        await app.click("decrement");
        await app.click("reset");
        expect(await app.taken()).toEqual(["increment", "increment", "decrement", "reset"]);
        await app.evaluate(`weftIpc.onmessage(JSON.stringify({ count: -4 }))`);
        expect(await app.evaluate(`document.getElementById("count").textContent`)).toBe("\u22124");
        // A disabled button sends nothing (with or without the kit).
        await app.evaluate(`document.getElementById("increment").setAttribute("disabled", "")`);
        await app.click("increment");
        expect(await app.taken()).toEqual([]);
        expect(await app.evaluate(`document.getElementById("status").textContent`)).toBe("");
        if (withKit) {
          // The kit's look: the increment button in the accent colour, the others secondary.
          // (Polled: a hover left by the clicks fades out through a transition.)
          const colours = () => app.evaluate(`JSON.stringify(["increment", "reset"].map((id) => getComputedStyle(document.getElementById(id)).backgroundColor))`);
          await app.until(async () => (await colours()) === JSON.stringify(["rgb(79, 140, 255)", "rgba(255, 255, 255, 0.06)"]), "the kit's colours");
        }
      } finally {
        await app.chromium.stop();
      }
    }, 60_000);

    test("notes: save sends the text, discard restores it, #chars counts, #status says what happened", async () => {
      const app = await openApp("org.weft.demo.notes", withKit ? 13n : 14n, withKit);
      try {
        await app.until(async () => (await app.evaluate("sent.length")) > 0, "the first request");
        expect(await app.taken()).toEqual(["load"]);
        await app.evaluate(`weftIpc.onmessage(JSON.stringify({ text: "hello\\\\nworld" }))`);
        expect(await app.evaluate(`[document.getElementById("editor").value, document.getElementById("chars").textContent]`)).toEqual(["hello\nworld", "11 chars"]);
        await app.click("editor");
        await app.chromium.cdp.send("Input.insertText", { text: "!" }, app.page);
        await app.click("save");
        const saved = await app.taken();
        expect(saved).toHaveLength(1);
        expect(saved[0]).toStartWith("save:");
        expect(saved[0]).toContain("\\n");
        expect(await app.evaluate(`document.getElementById("status").textContent`)).toBe("saving…");
        await app.click("discard");
        expect(await app.evaluate(`[document.getElementById("editor").value, document.getElementById("status").textContent, document.getElementById("chars").textContent]`)).toEqual(["hello\nworld", "discarded", "11 chars"]);
      } finally {
        await app.chromium.stop();
      }
    }, 60_000);
  });
}
