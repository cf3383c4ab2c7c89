// The notes page (SPEC 7.2). The note lives in the app's component (/data/notes.txt): the page loads and
// saves it over the bridge WEFT injects (window.weftIpc = { send(string), onmessage }).
//
// Messages are single lines, so the text travels with each newline written as the two characters \n, in
// both directions (the component turns them back into newlines before writing the file).
"use strict";

(() => {
  const BRIDGE_POLL_MS = 50;
  const DISCARDED_SHOWN_MS = 1500;

  const editor = document.getElementById("editor");
  const statusView = document.getElementById("status");
  const charsView = document.getElementById("chars");
  // weft-button (the UI kit, injected by WEFT) or a plain button: both take clicks and the disabled attribute.
  const buttons = [...document.querySelectorAll("weft-button, button")];
  let bridge = null;
  let savedText = "";
  let statusTimer = 0;

  function setStatus(text, isError = false) {
    clearTimeout(statusTimer);
    statusView.textContent = text;
    statusView.classList.toggle("error", isError);
  }

  function updateCount() {
    charsView.textContent = `${editor.value.length} chars`;
  }

  function send(message) {
    if (bridge === null) return false;
    try {
      bridge.send(message);
      return true;
    } catch (error) {
      setStatus(`error: ${error instanceof Error ? error.message : String(error)}`, true);
      return false;
    }
  }

  function save() {
    if (send(`save:${editor.value.replace(/\n/g, "\\n")}`)) setStatus("saving…");
  }

  function discard() {
    editor.value = savedText;
    updateCount();
    setStatus("discarded");
    statusTimer = setTimeout(() => {
      if (statusView.textContent === "discarded") statusView.textContent = "";
    }, DISCARDED_SHOWN_MS);
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
    if (value === null || typeof value !== "object") return;
    if (typeof value.text === "string") {
      savedText = value.text.replace(/\\n/g, "\n");
      editor.value = savedText;
      updateCount();
      setStatus("");
    } else if (value.error !== undefined) {
      setStatus(`error: ${String(value.error)}`, true);
    }
  }

  function connect() {
    if (!window.weftIpc) {
      setTimeout(connect, BRIDGE_POLL_MS);
      return;
    }
    bridge = window.weftIpc;
    bridge.onmessage = handleMessage;
    for (const button of buttons) button.removeAttribute("disabled");
    setStatus("");
    send("load");
  }

  // The kit's weft-button swallows clicks while disabled; without the kit the page checks itself.
  function onClick(id, action) {
    document.getElementById(id).addEventListener("click", (event) => {
      if (!event.currentTarget.hasAttribute("disabled")) action();
    });
  }

  onClick("save", save);
  onClick("discard", discard);
  editor.addEventListener("input", updateCount);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
      event.preventDefault(); // not the browser's "save page"
      save();
    }
  });

  for (const button of buttons) button.setAttribute("disabled", "");
  updateCount();
  connect();
})();
