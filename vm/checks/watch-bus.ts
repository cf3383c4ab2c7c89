/**
 * In the VM (vm/test): two clients of the weft user on the real user bus try to see what the desktop's sessions
 * say to each other, while the demo runs.
 *
 *   watch-bus.ts watch <dir>    runs until SIGTERM: a monitor (`busctl --user monitor`, BecomeMonitor) and an
 *                               eavesdropper (a match rule with eavesdrop='true'), each writing one JSON line per
 *                               message it receives into <dir>/monitor.jsonl and <dir>/eavesdrop.jsonl
 *   watch-bus.ts report <dir> <marker>…
 *                               prints what each saw, and exits 1 when either saw a page ↔ guest message: a
 *                               Runtime1 Post or Message, or a marker (text only the page and the guest exchange)
 *                               in any call or signal. Method returns carry page text this test's own inspection
 *                               asked for, and TestInput calls carry what it typed: neither is session IPC.
 *                               It also exits 1 when a watcher saw no Launch: then it was not watching at all.
 */

import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Message } from "dbus-next";
import { parseBusAddress, resolveBusAddress } from "../../services/common/bus/index.ts";
import { UnixFdStream } from "../../services/common/bus/transport.ts";
import { createWireConnection } from "../../services/common/bus/wire.ts";
import { Compositor1TestInput, Runtime1 } from "../../protocol/dbus/index.ts";

const [mode, dir, ...markers] = process.argv.slice(2);
if ((mode !== "watch" && mode !== "report") || dir === undefined) {
  console.error("usage: watch-bus.ts watch <dir> | report <dir> <marker>…");
  process.exit(2);
}

type Seen = { type: string; interface?: string; member?: string; text: string };

if (mode === "watch") {
  const monitorFile = join(dir, "monitor.jsonl");
  const eavesdropFile = join(dir, "eavesdrop.jsonl");
  writeFileSync(monitorFile, "");
  writeFileSync(eavesdropFile, "");
  // stdbuf: busctl writes a pipe in blocks; line by line, nothing is lost when it is stopped.
  const monitor = Bun.spawn(["stdbuf", "-oL", "busctl", "--user", "monitor", "--json=short"], { stdout: Bun.file(monitorFile), stderr: "ignore" });
  // A bare connection that only listens: a full client (the bus kit's) would answer the method calls it overhears
  // with "no object here" errors, which the bus delivers to their callers.
  const [socket] = parseBusAddress(resolveBusAddress().address);
  const wire = createWireConnection(UnixFdStream.connect(socket!, { negotiateUnixFd: false }));
  const types = ["", "method_call", "method_return", "error", "signal"];
  wire.on("message", (message: { type: number; interface?: string; member?: string; body?: unknown[] }) => {
    const seen: Seen = { type: types[message.type] ?? String(message.type), interface: message.interface, member: message.member, text: JSON.stringify(message.body ?? [], (_, v) => (typeof v === "bigint" ? String(v) : v)) };
    appendFileSync(eavesdropFile, JSON.stringify(seen) + "\n");
  });
  const dbus = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" };
  wire.on("error", (error: Error) => console.error(`eavesdropper: ${error.message}`));
  const hello = new Message({ ...dbus, member: "Hello" });
  const match = new Message({ ...dbus, member: "AddMatch", signature: "s", body: ["eavesdrop='true'"] });
  hello.serial = 1;
  match.serial = 2;
  wire.message(hello);
  wire.message(match);
  console.log(`watching (monitor pid ${monitor.pid}, and an eavesdropping connection)`);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  monitor.kill("SIGTERM");
  await monitor.exited;
  wire.end();
  process.exit(0);
}

function read(file: string, parse: (line: string) => Seen): Seen[] {
  return readFileSync(file, "utf8").split("\n").filter((line) => line.startsWith("{")).map(parse);
}

const watchers: [string, Seen[]][] = [
  ["a monitor (BecomeMonitor)", read(join(dir, "monitor.jsonl"), (line) => {
    const m = JSON.parse(line) as { type: string; interface?: string; member?: string; payload?: unknown };
    return { type: m.type, interface: m.interface, member: m.member, text: JSON.stringify(m.payload ?? null) };
  })],
  ["an eavesdropper (eavesdrop='true')", read(join(dir, "eavesdrop.jsonl"), (line) => JSON.parse(line) as Seen)],
];
let failed = false;
for (const [who, seen] of watchers) {
  const ipc = seen.filter((m) => m.interface === Runtime1.name && (m.member === "Post" || m.member === "Message"));
  const leaks = seen.filter((m) => m.type !== "method_return" && m.interface !== Compositor1TestInput.name && markers.some((marker) => m.text.includes(marker) || m.text.includes(JSON.stringify(marker).slice(1, -1))));
  const launches = seen.filter((m) => m.member === "Launch").length;
  const ok = ipc.length === 0 && leaks.length === 0 && launches > 0;
  console.log(`${ok ? "ok  " : "FAIL"} ${who} of the user bus saw none of the sessions' IPC: ${seen.length} messages seen (${launches} Launch calls), ${ipc.length} Runtime1 Post/Message, ${leaks.length} carrying page ↔ guest text`);
  for (const m of [...ipc, ...leaks].slice(0, 5)) console.log(`  saw ${m.type} ${m.interface}.${m.member}: ${m.text.slice(0, 200)}`);
  if (!ok) failed = true;
}
process.exit(failed ? 1 : 0);
