// The system UI page (SPEC 6.1–6.2, docs/shell.md). It talks to weft-shell only through DevTools:
// window.weftShellSend(JSON text) (a binding weft-shell adds) and window.weftShellReceive(message), which the
// shell calls with plain data. Every name and text from outside is put in the page as text (textContent),
// never as markup.
"use strict";

(() => {
  const SHELL_TOAST_MS = 4000;
  const CLOCK_MS = 10_000;

  const launcher = document.getElementById("launcher");
  const launcherButton = document.getElementById("launcher-button");
  const grid = document.getElementById("launcher-grid");
  const empty = document.getElementById("launcher-empty");
  const sessionsView = document.getElementById("sessions");
  const toasts = document.getElementById("toasts");
  const clock = document.getElementById("clock");

  let appsShown = "";
  let appNames = new Map();

  function send(message) {
    if (typeof window.weftShellSend !== "function") return; // no shell (the page opened on its own)
    window.weftShellSend(JSON.stringify(message));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- launcher ---

  function showLauncher(open) {
    launcher.hidden = !open;
    launcherButton.setAttribute("aria-expanded", String(open));
    if (open) grid.querySelector(".tile")?.focus();
  }

  function setLauncher(open) {
    if (open === !launcher.hidden) return;
    showLauncher(open);
    send({ type: "launcher", open });
  }

  function renderApps(apps) {
    const key = JSON.stringify(apps);
    appNames = new Map(apps.map((app) => [app.id, app.name || app.id]));
    if (key === appsShown) return;
    appsShown = key;
    grid.replaceChildren();
    for (const app of apps) {
      const label = app.name || app.id;
      const tile = el("button", "tile");
      tile.type = "button";
      tile.setAttribute("role", "listitem");
      tile.setAttribute("data-app-id", app.id);
      tile.title = `${app.id} v${app.version}`;
      tile.append(el("span", "tile-icon", (label.trim()[0] ?? "?").toUpperCase()), el("span", "tile-label", label));
      tile.addEventListener("click", () => {
        showLauncher(false);
        send({ type: "launch", appId: app.id });
      });
      grid.append(tile);
    }
    empty.hidden = apps.length > 0;
  }

  launcherButton.addEventListener("click", () => setLauncher(launcher.hidden));
  launcher.addEventListener("click", (event) => {
    if (event.target === launcher || event.target === grid) setLauncher(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !launcher.hidden) {
      event.preventDefault();
      setLauncher(false);
    }
  });

  // --- taskbar sessions ---

  function renderSessions(sessions, focused) {
    sessionsView.replaceChildren();
    for (const session of sessions) {
      const name = appNames.get(session.appId) ?? (session.appId.split(".").pop() || session.id);
      const entry = el("div", `session ${session.state}`);
      entry.setAttribute("role", "listitem");
      entry.setAttribute("data-session-id", session.id);
      entry.title = `${session.appId} (session ${session.id})`;
      entry.tabIndex = 0;
      if (session.id === focused) {
        entry.classList.add("focused");
        entry.setAttribute("aria-current", "true");
      }
      const close = el("button", "terminate", "×");
      close.type = "button";
      close.title = "Terminate";
      close.setAttribute("aria-label", `Terminate ${name}`);
      close.addEventListener("click", (event) => {
        event.stopPropagation();
        send({ type: "terminate", sessionId: session.id });
      });
      entry.append(el("span", "dot", "●"), el("span", "name", name), close);
      entry.addEventListener("click", () => send({ type: "focus", sessionId: session.id }));
      entry.addEventListener("keydown", (event) => {
        if (event.target === entry && (event.key === "Enter" || event.key === " ")) {
          event.preventDefault();
          send({ type: "focus", sessionId: session.id });
        }
      });
      sessionsView.append(entry);
    }
  }

  // --- toasts ---

  function toast(node, lifetimeMs) {
    toasts.prepend(node);
    if (lifetimeMs > 0) setTimeout(() => node.remove(), lifetimeMs);
  }

  function showNotification(n) {
    document.querySelector(`.toast[data-notification-id="${Number(n.id)}"]`)?.remove();
    const node = el("div", "toast notification");
    node.setAttribute("data-notification-id", String(Number(n.id)));
    node.setAttribute("role", "status");
    if (n.appName) node.append(el("div", "toast-app", n.appName));
    node.append(el("div", "toast-summary", n.summary));
    if (n.body) node.append(el("div", "toast-body", n.body));
    const close = el("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => {
      node.remove();
      send({ type: "dismiss", id: Number(n.id) });
    });
    node.append(close);
    toast(node, 0); // the shell closes it when it expires
  }

  // --- gestures: a three-finger swipe up opens the launcher, down goes home ---

  function gesture(g) {
    if (g.gesture !== 0) return;
    if (Math.abs(g.dy) < Math.abs(g.dx)) return;
    if (g.dy < 0) setLauncher(true);
    else {
      showLauncher(false);
      send({ type: "home" });
    }
  }

  // --- messages from the shell ---

  window.weftShellReceive = (message) => {
    if (message === null || typeof message !== "object") return;
    switch (message.type) {
      case "state":
        renderApps(Array.isArray(message.apps) ? message.apps : []);
        renderSessions(Array.isArray(message.sessions) ? message.sessions : [], String(message.focused));
        if (typeof message.launcherOpen === "boolean") showLauncher(message.launcherOpen);
        break;
      case "launcher":
        showLauncher(Boolean(message.open));
        break;
      case "gesture":
        gesture(message);
        break;
      case "notification":
        showNotification(message);
        break;
      case "notification-closed":
        document.querySelector(`.toast[data-notification-id="${Number(message.id)}"]`)?.remove();
        break;
      case "toast":
        toast(el("div", "toast", String(message.text)), SHELL_TOAST_MS);
        break;
    }
  };

  // --- clock ---

  function tick() {
    const now = new Date();
    clock.textContent = `${String(now.getHours()).padStart(2, "0")}:${String(now.getMinutes()).padStart(2, "0")}`;
    clock.dateTime = now.toISOString();
  }
  tick();
  setInterval(tick, CLOCK_MS);

  send({ type: "hello" });
})();
