/**
 * WEFT's private bus keeps every client's traffic to itself: a same-user client (root here, the daemon's own
 * user) can neither become a monitor nor eavesdrop, whichever tool it uses; an ordinary user bus's policy
 * (`monitoring: "allowed"`) shows the same tools do see the traffic, so the refusals are the policy's doing.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectBus, type BusConnection } from "./index.ts";
import { busctl, startPrivateBus, type PrivateBus } from "../../../testing/bus.ts";

let weftBus: PrivateBus;
let userLikeBus: PrivateBus;

beforeAll(async () => {
  weftBus = await startPrivateBus();
  userLikeBus = await startPrivateBus({ monitoring: "allowed" });
});

afterAll(async () => {
  await weftBus?.close();
  await userLikeBus?.close();
});

/** Runs `argv` for a while and returns what it printed (it is killed after `ms`). */
async function watchFor(argv: string[], ms: number, during: () => Promise<void>): Promise<string> {
  const child = Bun.spawn(["stdbuf", "-oL", ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]).then(([out, err]) => out + err);
  await Bun.sleep(ms);
  await during();
  await Bun.sleep(300);
  child.kill("SIGTERM");
  return output;
}

/** Two clients: one calls the other, which answers; the payload is what a watcher must not see. */
async function privateExchange(address: string, secret: string): Promise<void> {
  const server: BusConnection = await connectBus({ address });
  const client: BusConnection = await connectBus({ address });
  try {
    await client
      .call({ destination: server.uniqueName, path: "/", interface: "org.weft.Secret", member: "Tell", signature: "s", body: [secret] })
      .catch(() => undefined); // nobody exports the object: the call itself is what a watcher would see
  } finally {
    await client.close();
    await server.close();
  }
}

test("BecomeMonitor is refused with AccessDenied, to busctl, dbus-monitor and a raw call alike", async () => {
  const busctlMonitor = await busctl(weftBus.address, ["monitor"], { timeoutMs: 3_000 });
  expect(busctlMonitor.stderr).toContain("Access denied");
  const raw = await busctl(weftBus.address, ["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.Monitoring", "BecomeMonitor", "asu", "0", "0"]);
  expect(raw.exitCode).not.toBe(0);
  expect(raw.stderr).toContain("Access denied");

  // dbus-monitor falls back to eavesdropping, which no rule allows: it sees nothing of the exchange.
  const seen = await watchFor(["dbus-monitor", "--address", weftBus.address], 500, () => privateExchange(weftBus.address, "weft-secret-1"));
  expect(seen).toContain("AccessDenied");
  expect(seen).not.toContain("weft-secret-1");
});

test("an eavesdropping match rule receives none of another client's messages", async () => {
  const eavesdropper = await connectBus({ address: weftBus.address });
  const overheard: string[] = [];
  eavesdropper.raw.on("message", (message: { body?: unknown[] }) => overheard.push(JSON.stringify(message.body ?? [])));
  try {
    await eavesdropper.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch", signature: "s", body: ["eavesdrop='true'"] });
    await privateExchange(weftBus.address, "weft-secret-2");
    await Bun.sleep(200);
    expect(overheard.filter((body) => body.includes("weft-secret-2"))).toEqual([]);
  } finally {
    await eavesdropper.close();
  }
});

test("on a bus with an ordinary user bus's policy the same monitor sees the exchange (the control)", async () => {
  const seen = await watchFor(["busctl", `--address=${userLikeBus.address}`, "monitor"], 500, () => privateExchange(userLikeBus.address, "weft-secret-3"));
  expect(seen).toContain("weft-secret-3");
});
