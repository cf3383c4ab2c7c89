// WEFT UI kit (SPEC 6.4, docs/ui-kit.md): custom elements with one shared dark style, injected as a user script
// into the system UI (weft-shell) and into every app UI (weft-app-shell) before the page's own scripts run.
//
// Rules this file keeps:
// * Each element is defined only if the name is still free (a page may bring its own), in shadow DOM.
// * Works under the views' strict CSP (no eval, no inline script; style-src 'self' 'unsafe-inline'): styles are
//   constructable stylesheets adopted by each shadow root, with a <style> element as the fallback.
// * Text a page gives an element stays text: nothing here turns an attribute into markup.
// * Accessible: roles and ARIA states on the host elements; buttons and menu items work from the keyboard.
"use strict";

(() => {
  if (typeof window === "undefined" || window.customElements === undefined) return;

  const SHARED_CSS = `
    :host {
      --weft-bg: rgba(22, 30, 52, 0.72);
      --weft-bg-solid: #141c31;
      --weft-border: rgba(148, 163, 184, 0.16);
      --weft-text: #e5e9f2;
      --weft-muted: #8b95ab;
      --weft-accent: #4f8cff;
      --weft-accent-strong: #3b74e6;
      --weft-control: rgba(255, 255, 255, 0.06);
      --weft-control-hover: rgba(255, 255, 255, 0.11);
      --weft-success: #4ade80;
      --weft-warning: #fbbf24;
      --weft-error: #f87171;
      --weft-radius: 12px;
      box-sizing: border-box;
      color: var(--weft-text);
      font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif;
    }
    :host([hidden]) { display: none !important; }
    *, *::before, *::after { box-sizing: border-box; }
  `;

  const ELEMENT_CSS = {
    button: `
      :host {
        display: inline-flex; align-items: center; justify-content: center; gap: 8px;
        min-height: 36px; padding: 0 16px;
        border: 1px solid transparent; border-radius: var(--weft-radius);
        background: var(--weft-accent); color: #fff;
        font-size: 14px; font-weight: 500; line-height: 1;
        cursor: pointer; user-select: none;
        transition: background 120ms ease, transform 80ms ease;
      }
      :host(:hover) { background: var(--weft-accent-strong); }
      :host(:active) { transform: translateY(1px) scale(0.98); }
      :host(:focus-visible) { outline: 2px solid var(--weft-accent); outline-offset: 2px; }
      :host([variant="secondary"]) { background: var(--weft-control); border-color: rgba(255, 255, 255, 0.1); color: var(--weft-text); }
      :host([variant="secondary"]:hover) { background: var(--weft-control-hover); }
      :host([variant="destructive"]) { background: #b91c1c; }
      :host([variant="destructive"]:hover) { background: #991b1b; }
      :host([disabled]) { opacity: 0.45; cursor: default; pointer-events: none; transform: none; }
    `,
    card: `
      :host {
        display: block; padding: 20px;
        border: 1px solid var(--weft-border); border-radius: 18px;
        background: var(--weft-bg); backdrop-filter: blur(18px);
        box-shadow: 0 24px 60px rgba(0, 0, 0, 0.45), inset 0 1px 0 rgba(255, 255, 255, 0.05);
      }
    `,
    dialog: `
      :host { display: contents; }
      .backdrop {
        position: fixed; inset: 0; z-index: 1000;
        display: none; align-items: center; justify-content: center;
        background: rgba(3, 6, 14, 0.6); backdrop-filter: blur(6px);
      }
      :host([open]) .backdrop { display: flex; }
      .panel {
        outline: none; min-width: 280px; max-width: min(560px, 92vw); max-height: 86vh; overflow: auto; padding: 22px;
        border: 1px solid var(--weft-border); border-radius: 18px;
        background: var(--weft-bg-solid); box-shadow: 0 30px 80px rgba(0, 0, 0, 0.6);
      }
    `,
    icon: `
      :host {
        display: inline-flex; align-items: center; justify-content: center;
        width: var(--icon-size, 20px); height: var(--icon-size, 20px); flex: none;
      }
      svg { width: 100%; height: 100%; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
    `,
    list: `
      :host {
        display: block; margin: 0; padding: 4px;
        border: 1px solid var(--weft-border); border-radius: var(--weft-radius); background: var(--weft-bg);
      }
    `,
    listItem: `
      :host { display: flex; align-items: center; gap: 10px; min-height: 40px; padding: 8px 12px; border-radius: 8px; }
      :host(:hover) { background: var(--weft-control); }
    `,
    menu: `
      :host {
        display: flex; flex-direction: column; min-width: 180px; padding: 6px;
        border: 1px solid var(--weft-border); border-radius: var(--weft-radius);
        background: var(--weft-bg-solid); box-shadow: 0 16px 40px rgba(0, 0, 0, 0.5);
      }
    `,
    menuItem: `
      :host {
        display: flex; align-items: center; gap: 10px; min-height: 34px; padding: 0 12px;
        border-radius: 8px; font-size: 14px; cursor: pointer; user-select: none; outline: none;
      }
      :host(:hover), :host(:focus-visible), :host(:focus) { background: var(--weft-control-hover); }
      :host([destructive]) { color: var(--weft-error); }
      :host([disabled]) { opacity: 0.45; cursor: default; pointer-events: none; }
    `,
    progress: `
      :host { display: block; height: 6px; border-radius: 3px; overflow: hidden; background: var(--weft-control); }
      .bar { height: 100%; width: 0; border-radius: inherit; background: var(--weft-accent); transition: width 160ms ease; }
      :host([indeterminate]) .bar { width: 40%; animation: weft-progress-slide 1.2s ease-in-out infinite; }
      @keyframes weft-progress-slide { from { transform: translateX(-100%); } to { transform: translateX(250%); } }
    `,
    input: `
      :host { display: inline-block; min-width: 12em; }
      input {
        width: 100%; height: 36px; padding: 0 12px;
        border: 1px solid rgba(255, 255, 255, 0.12); border-radius: 10px;
        background: rgba(0, 0, 0, 0.25); color: var(--weft-text); font: inherit; font-size: 14px;
        outline: none; caret-color: var(--weft-accent);
      }
      input::placeholder { color: rgba(139, 149, 171, 0.7); }
      input:focus { border-color: var(--weft-accent); }
      input:disabled { opacity: 0.45; }
    `,
    label: `
      :host {
        display: inline-flex; align-items: center; height: 22px; padding: 0 9px;
        border-radius: 11px; font-size: 12px; font-weight: 600;
        background: rgba(79, 140, 255, 0.16); color: var(--weft-accent);
      }
      :host([variant="success"]) { background: rgba(74, 222, 128, 0.14); color: var(--weft-success); }
      :host([variant="warning"]) { background: rgba(251, 191, 36, 0.14); color: var(--weft-warning); }
      :host([variant="error"]) { background: rgba(248, 113, 113, 0.14); color: var(--weft-error); }
      :host([variant="neutral"]) { background: var(--weft-control); color: var(--weft-muted); }
    `,
  };

  // One constructed sheet per CSS text, shared by every shadow root that uses it.
  const sheets = new Map();
  function sheetFor(css) {
    let sheet = sheets.get(css);
    if (sheet === undefined) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      sheets.set(css, sheet);
    }
    return sheet;
  }

  /** A shadow root with the shared style and the element's own, and `nodes` in it. */
  function shadow(host, css, nodes, init = {}) {
    const root = host.attachShadow({ mode: "open", ...init });
    try {
      root.adoptedStyleSheets = [sheetFor(SHARED_CSS), sheetFor(css)];
    } catch {
      const style = document.createElement("style");
      style.textContent = SHARED_CSS + css;
      root.append(style);
    }
    root.append(...nodes);
    return root;
  }

  function element(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function setDefault(host, name, value) {
    if (!host.hasAttribute(name)) host.setAttribute(name, value);
  }

  /** Makes the host answer Enter (press) and Space (release) with a click, like a native button. */
  function clickOnKeys(host) {
    host.addEventListener("keydown", (event) => {
      if (event.target !== host || host.hasAttribute("disabled")) return;
      if (event.key === "Enter") {
        event.preventDefault();
        host.click();
      } else if (event.key === " ") {
        event.preventDefault(); // no page scroll
      }
    });
    host.addEventListener("keyup", (event) => {
      if (event.target !== host || host.hasAttribute("disabled")) return;
      if (event.key === " ") {
        event.preventDefault();
        host.click();
      }
    });
  }

  /** A disabled host swallows clicks (pointer-events: none stops the pointer; this stops click()). */
  function blockClicksWhenDisabled(host) {
    host.addEventListener(
      "click",
      (event) => {
        if (host.hasAttribute("disabled")) {
          event.preventDefault();
          event.stopImmediatePropagation();
        }
      },
      { capture: true },
    );
  }

  /** `disabled` as a boolean property that reflects the attribute (pages set `el.disabled = true`). */
  const disabledProperty = {
    get() {
      return this.hasAttribute("disabled");
    },
    set(value) {
      this.toggleAttribute("disabled", Boolean(value));
    },
  };

  class WeftButton extends HTMLElement {
    static get observedAttributes() {
      return ["disabled"];
    }
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.button, [element("slot")]);
      clickOnKeys(this);
      blockClicksWhenDisabled(this);
    }
    connectedCallback() {
      setDefault(this, "role", "button");
      this.#sync();
    }
    attributeChangedCallback() {
      this.#sync();
    }
    #sync() {
      const disabled = this.hasAttribute("disabled");
      this.setAttribute("tabindex", disabled ? "-1" : "0");
      this.setAttribute("aria-disabled", String(disabled));
    }
  }
  Object.defineProperty(WeftButton.prototype, "disabled", disabledProperty);

  class WeftCard extends HTMLElement {
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.card, [element("slot")]);
    }
  }

  class WeftDialog extends HTMLElement {
    #backdrop;
    #panel;
    static get observedAttributes() {
      return ["open"];
    }
    constructor() {
      super();
      // The host is display: contents (it has no box), so the panel takes focus when the dialog opens.
      this.#panel = element("div", { class: "panel", part: "panel", tabindex: "-1" }, [element("slot")]);
      this.#backdrop = element("div", { class: "backdrop", part: "backdrop" }, [this.#panel]);
      shadow(this, ELEMENT_CSS.dialog, [this.#backdrop]);
      // A click on the backdrop itself (not inside the panel) closes the dialog.
      this.#backdrop.addEventListener("click", (event) => {
        if (event.target === this.#backdrop) this.close();
      });
      this.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && this.open) {
          event.stopPropagation();
          this.close();
        }
      });
    }
    connectedCallback() {
      setDefault(this, "role", "dialog");
      this.setAttribute("aria-modal", "true");
      this.#sync(false);
    }
    attributeChangedCallback(_name, oldValue, newValue) {
      this.#sync(oldValue !== null && newValue === null);
    }
    get open() {
      return this.hasAttribute("open");
    }
    set open(value) {
      this.toggleAttribute("open", Boolean(value));
    }
    show() {
      this.open = true;
    }
    close() {
      this.open = false;
    }
    #sync(justClosed) {
      this.setAttribute("aria-hidden", String(!this.open));
      if (this.open && this.isConnected) this.#panel.focus({ preventScroll: true });
      if (justClosed) this.dispatchEvent(new CustomEvent("weft:close", { bubbles: true, composed: true }));
    }
  }

  // A few strokes drawn from fixed strings (never from page input); any other name shows the slotted content.
  const ICONS = {
    apps: '<rect x="4" y="4" width="6" height="6" rx="1.5"/><rect x="14" y="4" width="6" height="6" rx="1.5"/><rect x="4" y="14" width="6" height="6" rx="1.5"/><rect x="14" y="14" width="6" height="6" rx="1.5"/>',
    close: '<path d="M6 6l12 12M18 6L6 18"/>',
    plus: '<path d="M12 5v14M5 12h14"/>',
    minus: '<path d="M5 12h14"/>',
    check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
    bell: '<path d="M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z"/><path d="M10 20a2 2 0 0 0 4 0"/>',
    home: '<path d="M4 11l8-7 8 7v9h-5v-6h-6v6H4z"/>',
  };
  const SVG_NS = "http://www.w3.org/2000/svg";

  class WeftIcon extends HTMLElement {
    #root;
    static get observedAttributes() {
      return ["size", "name"];
    }
    constructor() {
      super();
      this.#root = shadow(this, ELEMENT_CSS.icon, [element("slot")]);
    }
    connectedCallback() {
      if (!this.hasAttribute("aria-label")) this.setAttribute("aria-hidden", "true");
      else setDefault(this, "role", "img");
      this.#sync();
    }
    attributeChangedCallback() {
      this.#sync();
    }
    #sync() {
      const size = Number(this.getAttribute("size"));
      if (Number.isFinite(size) && size > 0 && size <= 1024) this.style.setProperty("--icon-size", `${size}px`);
      else this.style.removeProperty("--icon-size");
      const name = this.getAttribute("name");
      const existing = this.#root.querySelector("svg");
      existing?.remove();
      if (name !== null && Object.hasOwn(ICONS, name)) {
        const svg = document.createElementNS(SVG_NS, "svg");
        svg.setAttribute("viewBox", "0 0 24 24");
        svg.setAttribute("part", "svg");
        // Parsed from our own constant strings, in the SVG namespace.
        const parsed = new DOMParser().parseFromString(`<svg xmlns="${SVG_NS}">${ICONS[name]}</svg>`, "image/svg+xml");
        svg.append(...[...parsed.documentElement.childNodes].map((node) => document.importNode(node, true)));
        this.#root.append(svg);
      }
    }
  }

  class WeftList extends HTMLElement {
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.list, [element("slot")]);
    }
    connectedCallback() {
      setDefault(this, "role", "list");
    }
  }

  class WeftListItem extends HTMLElement {
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.listItem, [element("slot")]);
    }
    connectedCallback() {
      setDefault(this, "role", "listitem");
    }
  }

  class WeftMenu extends HTMLElement {
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.menu, [element("slot")]);
      // Arrow keys move between the enabled items; Home/End go to the ends (WAI-ARIA menu pattern).
      this.addEventListener("keydown", (event) => {
        const items = this.items();
        if (items.length === 0) return;
        const current = items.indexOf(document.activeElement);
        let next;
        if (event.key === "ArrowDown") next = current < 0 ? 0 : (current + 1) % items.length;
        else if (event.key === "ArrowUp") next = current < 0 ? items.length - 1 : (current - 1 + items.length) % items.length;
        else if (event.key === "Home") next = 0;
        else if (event.key === "End") next = items.length - 1;
        else return;
        event.preventDefault();
        this.#rove(items, items[next]);
        items[next].focus();
      });
      this.addEventListener("focusin", (event) => {
        const items = this.items();
        if (items.includes(event.target)) this.#rove(items, event.target);
      });
    }
    connectedCallback() {
      setDefault(this, "role", "menu");
      const items = this.items();
      if (items.length > 0 && !items.some((item) => item.getAttribute("tabindex") === "0")) this.#rove(items, items[0]);
    }
    /** The enabled menu items, in document order. */
    items() {
      return [...this.querySelectorAll("weft-menu-item")].filter((item) => !item.hasAttribute("disabled"));
    }
    #rove(items, active) {
      for (const item of items) item.setAttribute("tabindex", item === active ? "0" : "-1");
    }
  }

  class WeftMenuItem extends HTMLElement {
    static get observedAttributes() {
      return ["disabled"];
    }
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.menuItem, [element("slot")]);
      clickOnKeys(this);
      blockClicksWhenDisabled(this);
    }
    connectedCallback() {
      setDefault(this, "role", "menuitem");
      // Roving tabindex: the first enabled item of a menu is the one Tab reaches (the menu's own
      // connectedCallback runs before the parser added its items, so each item checks as it arrives).
      if (!this.hasAttribute("tabindex")) {
        const menu = this.closest("weft-menu");
        const first = menu !== null && !this.hasAttribute("disabled") && menu.querySelector('weft-menu-item[tabindex="0"]') === null;
        this.setAttribute("tabindex", first ? "0" : "-1");
      }
      this.#sync();
    }
    attributeChangedCallback() {
      this.#sync();
    }
    #sync() {
      this.setAttribute("aria-disabled", String(this.hasAttribute("disabled")));
    }
  }
  Object.defineProperty(WeftMenuItem.prototype, "disabled", disabledProperty);

  class WeftProgress extends HTMLElement {
    #bar;
    static get observedAttributes() {
      return ["value", "max", "indeterminate"];
    }
    constructor() {
      super();
      this.#bar = element("div", { class: "bar", part: "bar" });
      shadow(this, ELEMENT_CSS.progress, [this.#bar]);
    }
    connectedCallback() {
      setDefault(this, "role", "progressbar");
      this.#sync();
    }
    attributeChangedCallback() {
      this.#sync();
    }
    get max() {
      const max = Number(this.getAttribute("max") ?? 100);
      return Number.isFinite(max) && max > 0 ? max : 100;
    }
    get value() {
      const value = Number(this.getAttribute("value") ?? 0);
      return Number.isFinite(value) ? Math.min(Math.max(value, 0), this.max) : 0;
    }
    set value(value) {
      this.setAttribute("value", String(value));
    }
    /** The bar's width in percent: min(100, value / max · 100). */
    get percent() {
      return Math.min(100, (this.value / this.max) * 100);
    }
    #sync() {
      this.setAttribute("aria-valuemin", "0");
      this.setAttribute("aria-valuemax", String(this.max));
      if (this.hasAttribute("indeterminate")) {
        this.removeAttribute("aria-valuenow");
        this.#bar.style.removeProperty("width");
      } else {
        this.setAttribute("aria-valuenow", String(this.value));
        this.#bar.style.width = `${this.percent}%`;
      }
    }
  }

  const INPUT_TYPES = new Set(["text", "password", "email", "number", "search", "tel", "url"]);

  class WeftInput extends HTMLElement {
    #input;
    static get observedAttributes() {
      return ["placeholder", "type", "value", "disabled", "aria-label"];
    }
    constructor() {
      super();
      this.#input = element("input", { part: "input", type: "text" });
      shadow(this, ELEMENT_CSS.input, [this.#input], { delegatesFocus: true });
      // `input` is composed and would reach the page anyway; weft:input carries the value.
      this.#input.addEventListener("input", () => {
        this.dispatchEvent(new CustomEvent("weft:input", { detail: this.#input.value, bubbles: true, composed: true }));
      });
    }
    attributeChangedCallback(name, _old, value) {
      if (name === "placeholder") this.#input.placeholder = value ?? "";
      else if (name === "type") this.#input.type = value !== null && INPUT_TYPES.has(value) ? value : "text";
      else if (name === "value") this.#input.value = value ?? "";
      else if (name === "disabled") this.#input.disabled = value !== null;
      else if (name === "aria-label") {
        if (value === null) this.#input.removeAttribute("aria-label");
        else this.#input.setAttribute("aria-label", value);
      }
    }
    get value() {
      return this.#input.value;
    }
    set value(value) {
      this.#input.value = String(value ?? "");
    }
    focus(options) {
      this.#input.focus(options);
    }
  }
  Object.defineProperty(WeftInput.prototype, "disabled", disabledProperty);

  class WeftLabel extends HTMLElement {
    constructor() {
      super();
      shadow(this, ELEMENT_CSS.label, [element("slot")]);
    }
  }

  const ELEMENTS = [
    ["weft-button", WeftButton],
    ["weft-card", WeftCard],
    ["weft-dialog", WeftDialog],
    ["weft-icon", WeftIcon],
    ["weft-list", WeftList],
    ["weft-list-item", WeftListItem],
    ["weft-menu", WeftMenu],
    ["weft-menu-item", WeftMenuItem],
    ["weft-progress", WeftProgress],
    ["weft-input", WeftInput],
    ["weft-label", WeftLabel],
  ];
  for (const [name, constructor] of ELEMENTS) {
    if (customElements.get(name) === undefined) customElements.define(name, constructor);
  }
})();
