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

  const buttons = [...document.querySelectorAll("button")];

  function showCount(count) {
    // A true minus sign: the hyphen String(-3) gives is shorter and sits lower than the digits.
    const text = count < 0 ? `\u2212${-count}` : String(count);
    countView.textContent = text;
    countView.style.setProperty("--characters", String(Math.max(text.length, 3))); // long numbers shrink to fit
    countView.classList.toggle("negative", count < 0);
  }

  function setConnected(connected) {
    for (const button of buttons) button.disabled = !connected;
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

  document.getElementById("increment").addEventListener("click", () => send("increment"));
  document.getElementById("decrement").addEventListener("click", () => send("decrement"));
  document.getElementById("reset").addEventListener("click", () => send("reset"));

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
