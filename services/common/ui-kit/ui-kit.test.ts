/**
 * The UI kit in real Chromium on the real compositor: a page served from its view origin under the views' strict
 * CSP, the kit injected the way the shells inject it (before the page's scripts). Each element's attributes →
 * rendering/state, its events, and its keyboard behaviour; clicks and keys come through DevTools input events,
 * which take Chromium's real input path (hit testing, focus, default actions).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { CompositorWorld } from "../../../testing/compositor.ts";
import type { ChromiumProcess } from "../chromium/chromium.ts";
import { openTestView, textFiles, type TestView } from "../../../testing/chromium.ts";
import { createLogger } from "../daemon/log.ts";
import { injectUiKit, uiKitSource } from "./index.ts";

const log = createLogger("ui-kit-test", { level: "warn" });
let world: CompositorWorld;
let view: TestView;
let chromium: ChromiumProcess;
let page: string;
let kitScript: string;
let evaluate: TestView["evaluate"];
let until: TestView["until"];
let click: TestView["click"];

const FILES: Record<string, string> = {
  "index.html": `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="page.css"><script src="page.js" defer></script></head><body>
    <weft-button id="primary">Go</weft-button>
    <weft-button id="secondary" variant="secondary">Later</weft-button>
    <weft-button id="destructive" variant="destructive">Delete</weft-button>
    <weft-button id="off" disabled>Off</weft-button>
    <weft-card id="card"><p>inside</p></weft-card>
    <weft-dialog id="dialog"><p id="dialog-text">Sure?</p><weft-button id="dialog-ok">OK</weft-button></weft-dialog>
    <weft-icon id="icon" name="apps" size="32"></weft-icon>
    <weft-icon id="bad-icon" name="no-such-icon" size="-5">?</weft-icon>
    <weft-list id="list"><weft-list-item id="item">one</weft-list-item></weft-list>
    <weft-menu id="menu"><weft-menu-item id="m1">Open</weft-menu-item><weft-menu-item id="m2" disabled>Gone</weft-menu-item><weft-menu-item id="m3" destructive>Remove</weft-menu-item></weft-menu>
    <weft-progress id="progress" value="30" max="60"></weft-progress>
    <weft-progress id="spin" indeterminate></weft-progress>
    <weft-input id="input" placeholder="Name" value="start"></weft-input>
    <weft-label id="ok" variant="success">ok</weft-label>
    <weft-label id="err" variant="error">bad</weft-label>
    <p id="ready">no</p>
  </body></html>`,
  "page.css": "body { margin: 0; padding: 8px; background: #000; } weft-button { margin: 4px; }",
  // The page's own script, under the CSP: records events the test reads back.
  "page.js": `window.events = [];
    for (const id of ["primary", "off", "m1", "m2", "m3", "dialog-ok"]) document.getElementById(id).addEventListener("click", () => events.push("click:" + id));
    document.addEventListener("weft:input", (e) => events.push("input:" + e.detail));
    document.addEventListener("weft:close", (e) => events.push("close:" + e.target.id));
    document.getElementById("ready").textContent = "yes";`,
};

beforeAll(async () => {
  world = await CompositorWorld.start();
  view = await openTestView({
    waylandFd: await world.openClient("application", 3n),
    label: "org.weft.test.kit",
    name: "kit-test",
    file: textFiles(FILES),
    log,
    beforeNavigate: async (cdp, page) => {
      kitScript = (await injectUiKit(cdp, page))!;
    },
  });
  expect(kitScript).toBeString();
  ({ chromium, page, evaluate, until, click } = view);
  await until(async () => (await evaluate("document.getElementById('ready')?.textContent")) === "yes", "the page script");
}, 60_000);

afterAll(async () => {
  await chromium?.stop();
  await world?.close();
});

/** A real key press and release (the focused element receives it). */
async function key(keyName: string, code: string, keyCode: number, text?: string): Promise<void> {
  await chromium.cdp.send("Input.dispatchKeyEvent", { type: text ? "keyDown" : "rawKeyDown", key: keyName, code, windowsVirtualKeyCode: keyCode, text }, page);
  await chromium.cdp.send("Input.dispatchKeyEvent", { type: "keyUp", key: keyName, code, windowsVirtualKeyCode: keyCode }, page);
}

async function takeEvents(): Promise<string[]> {
  return evaluate("events.splice(0)");
}

test("every element is defined, with a shadow root carrying the shared style (constructable sheets under the CSP)", async () => {
  const names = ["weft-button", "weft-card", "weft-dialog", "weft-icon", "weft-list", "weft-list-item", "weft-menu", "weft-menu-item", "weft-progress", "weft-input", "weft-label"];
  const state = await evaluate(`${JSON.stringify(names)}.map((n) => {
    const e = document.querySelector(n);
    return [n, customElements.get(n) !== undefined, e.shadowRoot !== null, e.shadowRoot.adoptedStyleSheets.length];
  })`);
  expect(state).toEqual(names.map((n) => [n, true, true, 2]));
  // The shared style reached the elements: a card is translucent dark with a rounded border, text is light.
  const card = await evaluate(`(() => { const s = getComputedStyle(document.getElementById("card")); return [s.borderTopLeftRadius, s.display, s.color]; })()`);
  expect(card).toEqual(["18px", "block", "rgb(229, 233, 242)"]);
});

test("weft-button: role, focusable, variants change its colour, disabled blocks clicks and leaves the tab order", async () => {
  const info = await evaluate(`["primary", "secondary", "destructive", "off"].map((id) => {
    const e = document.getElementById(id);
    return [e.getAttribute("role"), e.getAttribute("tabindex"), e.getAttribute("aria-disabled"), getComputedStyle(e).backgroundColor, e.disabled];
  })`);
  expect(info[0]).toEqual(["button", "0", "false", "rgb(79, 140, 255)", false]);
  expect(info[1][3]).toBe("rgba(255, 255, 255, 0.06)");
  expect(info[2][3]).toBe("rgb(185, 28, 28)");
  expect(info[3].slice(0, 3)).toEqual(["button", "-1", "true"]);
  expect(info[3][4]).toBe(true);

  await click("primary");
  await click("off");
  await evaluate(`document.getElementById("off").click()`);
  expect(await takeEvents()).toEqual(["click:primary"]);

  // The property reflects: enabling it makes it clickable and focusable.
  await evaluate(`document.getElementById("off").disabled = false`);
  expect(await evaluate(`[document.getElementById("off").hasAttribute("disabled"), document.getElementById("off").getAttribute("tabindex")]`)).toEqual([false, "0"]);
  await click("off");
  expect(await takeEvents()).toEqual(["click:off"]);
  await evaluate(`document.getElementById("off").disabled = true`);
});

test("weft-button from the keyboard: Enter and Space click the focused button, a disabled one ignores them", async () => {
  await evaluate(`document.getElementById("primary").focus()`);
  expect(await evaluate("document.activeElement.id")).toBe("primary");
  await key("Enter", "Enter", 13, "\r");
  await key(" ", "Space", 32, " ");
  expect(await takeEvents()).toEqual(["click:primary", "click:primary"]);
  // Tab moves focus past the disabled button.
  await evaluate(`document.getElementById("destructive").focus()`);
  await key("Tab", "Tab", 9);
  expect(await evaluate("document.activeElement.id")).not.toBe("off");
  await evaluate(`document.getElementById("off").focus()`);
  await key("Enter", "Enter", 13, "\r");
  expect(await takeEvents()).toEqual([]);
});

test("weft-dialog: the open attribute shows a full-screen backdrop; a click on it closes, a click inside does not; Escape closes", async () => {
  const hidden = await evaluate(`(() => { const b = document.getElementById("dialog").shadowRoot.querySelector(".backdrop"); return [getComputedStyle(b).display, document.getElementById("dialog").getAttribute("role")]; })()`);
  expect(hidden).toEqual(["none", "dialog"]);
  await evaluate(`document.getElementById("dialog").setAttribute("open", "")`);
  const shown = await evaluate(`(() => { const b = document.getElementById("dialog").shadowRoot.querySelector(".backdrop").getBoundingClientRect(); return [b.x, b.y, b.width === innerWidth, b.height === innerHeight]; })()`);
  expect(shown).toEqual([0, 0, true, true]);
  // A click inside the panel (its OK button) keeps it open.
  await click("dialog-ok");
  expect(await evaluate(`document.getElementById("dialog").open`)).toBe(true);
  // A click on the backdrop (a corner of the screen) closes it.
  for (const type of ["mousePressed", "mouseReleased"]) await chromium.cdp.send("Input.dispatchMouseEvent", { type, x: 5, y: 5, button: "left", clickCount: 1 }, page);
  expect(await evaluate(`document.getElementById("dialog").hasAttribute("open")`)).toBe(false);
  expect(await takeEvents()).toEqual(["click:dialog-ok", "close:dialog"]);
  // Escape closes it too (the dialog takes focus when it opens).
  await evaluate(`document.getElementById("dialog").show()`);
  await key("Escape", "Escape", 27);
  expect(await evaluate(`document.getElementById("dialog").open`)).toBe(false);
  expect(await takeEvents()).toEqual(["close:dialog"]);
});

test("weft-icon: size sets --icon-size (bad sizes ignored), known names draw an SVG, unknown ones show the slot", async () => {
  const icon = await evaluate(`(() => { const e = document.getElementById("icon"); const r = e.getBoundingClientRect(); return [r.width, r.height, e.shadowRoot.querySelectorAll("svg rect").length, e.getAttribute("aria-hidden")]; })()`);
  expect(icon).toEqual([32, 32, 4, "true"]);
  const bad = await evaluate(`(() => { const e = document.getElementById("bad-icon"); return [e.style.getPropertyValue("--icon-size"), e.shadowRoot.querySelector("svg"), getComputedStyle(e).width]; })()`);
  expect(bad).toEqual(["", null, "20px"]);
  await evaluate(`document.getElementById("icon").setAttribute("size", "48"); document.getElementById("icon").setAttribute("name", "close")`);
  expect(await evaluate(`(() => { const e = document.getElementById("icon"); return [e.getBoundingClientRect().width, e.shadowRoot.querySelectorAll("svg path").length]; })()`)).toEqual([48, 1]);
});

test("weft-list and weft-list-item carry list roles", async () => {
  expect(await evaluate(`[document.getElementById("list").getAttribute("role"), document.getElementById("item").getAttribute("role")]`)).toEqual(["list", "listitem"]);
});

test("weft-menu: arrow keys rove between enabled items, Enter/Space activate, disabled items are skipped, destructive is red", async () => {
  const roles = await evaluate(`["menu", "m1", "m2", "m3"].map((id) => [document.getElementById(id).getAttribute("role"), document.getElementById(id).getAttribute("tabindex")])`);
  expect(roles).toEqual([["menu", null], ["menuitem", "0"], ["menuitem", "-1"], ["menuitem", "-1"]]);
  expect(await evaluate(`getComputedStyle(document.getElementById("m3")).color`)).toBe("rgb(248, 113, 113)");
  await evaluate(`document.getElementById("m1").focus()`);
  await key("ArrowDown", "ArrowDown", 40);
  expect(await evaluate("document.activeElement.id")).toBe("m3"); // m2 is disabled
  await key("ArrowDown", "ArrowDown", 40);
  expect(await evaluate("document.activeElement.id")).toBe("m1"); // wraps
  await key("ArrowUp", "ArrowUp", 38);
  expect(await evaluate("document.activeElement.id")).toBe("m3");
  await key("Enter", "Enter", 13, "\r");
  await key("Home", "Home", 36);
  await key(" ", "Space", 32, " ");
  await click("m2");
  expect(await takeEvents()).toEqual(["click:m3", "click:m1"]);
  expect(await evaluate(`[document.getElementById("m1").getAttribute("tabindex"), document.getElementById("m3").getAttribute("tabindex")]`)).toEqual(["0", "-1"]);
});

test("weft-progress: width is min(100, value/max·100)%, max defaults to 100, indeterminate animates without a value", async () => {
  // The bar's style width (what the element decides) and, once its transition settled, its real width.
  const width = async (id: string) => {
    const target = await evaluate(`document.getElementById(${JSON.stringify(id)}).shadowRoot.querySelector(".bar").style.width`);
    const rendered = () => evaluate(`(() => { const e = document.getElementById(${JSON.stringify(id)}); const bar = e.shadowRoot.querySelector(".bar"); return Math.round(bar.getBoundingClientRect().width / e.getBoundingClientRect().width * 100); })()`);
    await until(async () => `${await rendered()}%` === target, `the bar at ${target}`);
    return rendered();
  };
  expect(await width("progress")).toBe(50);
  expect(await evaluate(`["role", "aria-valuenow", "aria-valuemax"].map((a) => document.getElementById("progress").getAttribute(a))`)).toEqual(["progressbar", "30", "60"]);
  await evaluate(`document.getElementById("progress").removeAttribute("max")`);
  expect(await width("progress")).toBe(30);
  await evaluate(`document.getElementById("progress").setAttribute("value", "250")`);
  expect(await width("progress")).toBe(100);
  await evaluate(`document.getElementById("progress").setAttribute("value", "nonsense"); document.getElementById("progress").setAttribute("max", "-3")`);
  expect(await width("progress")).toBe(0);
  const spin = await evaluate(`(() => { const e = document.getElementById("spin"); return [getComputedStyle(e.shadowRoot.querySelector(".bar")).animationName, e.hasAttribute("aria-valuenow")]; })()`);
  expect(spin).toEqual(["weft-progress-slide", false]);
});

test("weft-input: attributes reach the inner input, typing emits bubbling weft:input with the value, the value property reads and writes", async () => {
  const inner = await evaluate(`(() => { const i = document.getElementById("input").shadowRoot.querySelector("input"); return [i.placeholder, i.type, i.value, document.getElementById("input").value]; })()`);
  expect(inner).toEqual(["Name", "text", "start", "start"]);
  await evaluate(`document.getElementById("input").value = ""`);
  await click("input");
  await chromium.cdp.send("Input.insertText", { text: "hi" }, page);
  expect(await evaluate(`document.getElementById("input").value`)).toBe("hi");
  const events = await takeEvents();
  expect(events.at(-1)).toBe("input:hi");
  // A hostile type falls back to text; disabled disables the inner input.
  await evaluate(`const e = document.getElementById("input"); e.setAttribute("type", "file"); e.setAttribute("disabled", "")`);
  expect(await evaluate(`(() => { const i = document.getElementById("input").shadowRoot.querySelector("input"); return [i.type, i.disabled]; })()`)).toEqual(["text", true]);
  await evaluate(`const e2 = document.getElementById("input"); e2.setAttribute("type", "password"); e2.disabled = false`);
  expect(await evaluate(`(() => { const i = document.getElementById("input").shadowRoot.querySelector("input"); return [i.type, i.disabled]; })()`)).toEqual(["password", false]);
});

test("weft-label: variants colour it", async () => {
  expect(await evaluate(`["ok", "err"].map((id) => getComputedStyle(document.getElementById(id)).color)`)).toEqual(["rgb(74, 222, 128)", "rgb(248, 113, 113)"]);
});

test("the kit defines an element only if its name is free, and running it twice is harmless", async () => {
  // Running it again on this page changes nothing and throws nothing.
  const source = uiKitSource()!;
  expect(await evaluate(`(() => { const before = customElements.get("weft-card"); ${source}; return customElements.get("weft-card") === before; })()`)).toBe(true);
  // A page that brings its own weft-label before the kit runs keeps it; the kit defines the rest.
  await chromium.cdp.send("Page.removeScriptToEvaluateOnNewDocument", { identifier: kitScript }, page);
  await chromium.cdp.send("Page.addScriptToEvaluateOnNewDocument", { source: "customElements.define('weft-label', class extends HTMLElement { get mine() { return true; } });" }, page);
  await chromium.cdp.send("Page.addScriptToEvaluateOnNewDocument", { source }, page);
  await chromium.cdp.send("Page.reload", {}, page);
  await until(async () => (await evaluate("document.getElementById('ready')?.textContent")) === "yes", "the reloaded page");
  expect(await evaluate(`[document.getElementById("ok").mine === true, document.getElementById("ok").shadowRoot, customElements.get("weft-card") !== undefined, document.getElementById("card").shadowRoot !== null]`)).toEqual([true, null, true, true]);
});
