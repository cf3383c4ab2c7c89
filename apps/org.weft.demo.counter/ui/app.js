// The counter's page (SPEC 7.1). The count lives in the app's component: the page sends commands over the
// bridge WEFT injects (window.weftIpc = { send(string), onmessage }) and shows the count it replies with.
"use strict";

(() => {
  const BRIDGE_POLL_MS = 50;

  const countView = document.getElementById("count");
  const statusView = document.getElementById("status");
  let bridge = null;

  function send(command) {
    if (bridge === null) return;
    try {
      bridge.send(command);
    } catch (error) {
      statusView.textContent = `not sent: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  // weft-button (the UI kit, injected by WEFT) or a plain button: both take clicks and the disabled attribute.
  const buttons = [...document.querySelectorAll("weft-button, button")];

  function showCount(count) {
    // A true minus sign: the hyphen String(-3) gives is shorter and sits lower than the digits.
    const text = count < 0 ? `\u2212${-count}` : String(count);
    countView.textContent = text;
    countView.style.setProperty("--characters", String(Math.max(text.length, 3))); // long numbers shrink to fit
    countView.classList.toggle("negative", count < 0);
  }

  function setConnected(connected) {
    for (const button of buttons) button.toggleAttribute("disabled", !connected);
  }

  // Messages arrive as JSON text; a bridge that delivers objects is accepted too.
  function handleMessage(message) {
    let value = message;
    if (typeof message === "string") {
      try {
        value = JSON.parse(message);
      } catch {
        return;
      }
    }
    if (value !== null && typeof value === "object" && typeof value.count === "number") showCount(value.count);
  }

  function connect() {
    if (!window.weftIpc) {
      setTimeout(connect, BRIDGE_POLL_MS);
      return;
    }
    bridge = window.weftIpc;
    bridge.onmessage = handleMessage;
    setConnected(true);
    statusView.textContent = "";
    send("get");
  }

  // The kit's weft-button swallows clicks while disabled; without the kit the page checks itself.
  function onClick(id, action) {
    document.getElementById(id).addEventListener("click", (event) => {
      if (!event.currentTarget.hasAttribute("disabled")) action();
    });
  }

  onClick("increment", () => send("increment"));
  onClick("decrement", () => send("decrement"));
  onClick("reset", () => send("reset"));

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return; // leave the browser's shortcuts alone
    let command;
    if (event.key === "ArrowUp" || event.key === "+") command = "increment";
    else if (event.key === "ArrowDown" || event.key === "-") command = "decrement";
    else if (event.key === "r" || event.key === "R") command = "reset";
    else return;
    event.preventDefault();
    send(command);
  });

  setConnected(false);
  connect();
})();
