/**
 * weft-app-shell's performance, each beside a baseline measured in the same run on the same compositor:
 *
 *   first frame   AppD1.Launch (counter, non-headless, warm) → the compositor's WindowMapped for the session,
 *                 p50/p95 over 10 launches; baseline: Chromium started alone (ChromiumProcess, same flags, an
 *                 app window) on a connection of the same compositor → WindowMapped
 *   IPC           page weftIpc.send → guest echo → page onmessage, timed in the page (sandbox fixture, 500 round
 *                 trips); baseline: the runtime's D-Bus Post → Message round trip with the test as UI end (no page)
 *   memory        PSS (smaps_rollup) of one session's processes: runtime + app-shell + Chromium's; baseline: the
 *                 same Chromium alone (browser and helpers)
 */

import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildApps } from "../apps/build.ts";
import { percentile, result, type BenchResult } from "./result.ts";
import { ChromiumProcess } from "../services/common/chromium/chromium.ts";
import { createLogger } from "../services/common/daemon/log.ts";
import { descendantsOf } from "../services/common/os/processes.ts";
import { AppdWorld } from "../testing/appd.ts";
import { DEMO_DIST } from "../testing/runtime.ts";
import { AppD, AppD1Session, AppShell, AppShell1Inspect, Compositor, Compositor1 } from "../protocol/dbus/index.ts";

const COUNTER = "org.weft.demo.counter";
const SANDBOX = "org.weft.test.sandbox";
const LAUNCHES = 10;
const LONG = { timeoutMs: 90_000 };

function pssKiB(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return total;
}

export async function benchAppShell(): Promise<BenchResult[]> {
  const world = new AppdWorld();
  await world.start();
  const log = createLogger("bench", { level: "error" });
  try {
    await world.install(join(DEMO_DIST, COUNTER));
    const appsDir = join(world.root, "fixture-src");
    cpSync(join(import.meta.dir, "../services/app-shell/fixtures/apps", SANDBOX), join(appsDir, SANDBOX), { recursive: true });
    const [built] = await buildApps({ appsDir, distDir: join(world.root, "fixture-dist"), keyFile: world.testKey.secretFile, log: () => {} });
    await world.install(built!.packageDir);
    const compositor = await world.startCompositor();
    const appd = await world.startAppd({ WEFT_APP_SHELL_INSPECT: "1" });

    const mapped = new Map<bigint, number>();
    const mappedWaiters = new Map<bigint, () => void>();
    await world.supervisor.subscribeSignal({ interface: Compositor1.name, path: Compositor.path, member: "WindowMapped" }, (body) => {
      const session = body[1] as bigint;
      if (!mapped.has(session)) mapped.set(session, performance.now());
      mappedWaiters.get(session)?.();
    });
    const mappedAt = (session: bigint) =>
      mapped.has(session) ? Promise.resolve(mapped.get(session)!) : new Promise<number>((resolve) => mappedWaiters.set(session, () => resolve(mapped.get(session)!)));

    // Launch → first frame, warm (the first launch compiles the component and warms Chromium's files).
    const launches: number[] = [];
    for (let i = 0; i <= LAUNCHES; i++) {
      const started = performance.now();
      const [id] = await appd.client.callWith(LONG, "Launch", COUNTER, {});
      const at = await mappedAt(id);
      if (i > 0) launches.push(at - started);
      if (i < LAUNCHES) await appd.client.callWith(LONG, "Terminate", id);
    }

    // PSS of the last counter session.
    const sessions = await appd.client.call("ListSessions");
    const [, , , path] = sessions.find(([, app, state]) => app === COUNTER && state === "running")!;
    const session = world.supervisor.proxy(AppD1Session, { busName: AppD.busName, path });
    const uiPid = await session.get("UiPid");
    const runtimePid = await session.get("RuntimePid");
    await Bun.sleep(1_000); // let the page settle
    const sessionPss = pssKiB([runtimePid, uiPid, ...descendantsOf(uiPid)]);
    await appd.client.callWith(LONG, "Terminate", await session.get("SessionId"));

    // Baseline: Chromium alone, same flags, on the same compositor.
    const baselineLaunches: number[] = [];
    let chromiumPss = 0;
    for (let i = 0; i <= LAUNCHES; i++) {
      const sessionId = 10_000n + BigInt(i);
      const started = performance.now();
      const [fd] = (await compositor.call("OpenClient", "st", ["application", sessionId])) as [number];
      const chromium = ChromiumProcess.start({ waylandFd: fd, name: `bench${i}`, windowClass: "bench", appUrl: "https://bench.weft.invalid/", log });
      const at = await mappedAt(sessionId);
      if (i > 0) baselineLaunches.push(at - started);
      if (i === LAUNCHES) {
        await Bun.sleep(1_000);
        chromiumPss = pssKiB([chromium.process.pid, ...descendantsOf(chromium.process.pid)]);
      }
      await chromium.stop();
    }

    // Page → Wasm → page, timed in the page.
    const [sandboxId] = await appd.client.callWith(LONG, "Launch", SANDBOX, {});
    const inspect = async (member: string, selector: string) =>
      world.supervisor.call({ destination: AppShell.busName(sandboxId), path: AppShell.path, interface: AppShell1Inspect.name, member, signature: "s", body: [selector] });
    const window = (await compositor.listWindows()).find((w) => w.session === sandboxId)!;
    const [x, y, w, h] = (await inspect("ElementRect", "#roundtrips")) as number[];
    await compositor.click(window.x + x! + w! / 2, window.y + y! + h! / 2);
    let samples: number[] = [];
    const deadline = Date.now() + 60_000;
    while (samples.length === 0 && Date.now() < deadline) {
      const [text] = (await inspect("ElementText", "#rtt")) as [string];
      if (text !== "") samples = (JSON.parse(text) as number[]).map((ms) => ms * 1000);
      else await Bun.sleep(100);
    }
    if (samples.length === 0) throw new Error("the page did not finish its round trips");
    await appd.client.callWith(LONG, "Terminate", sandboxId);

    // Baseline: the runtime's Post → Message round trip, the test as UI end.
    const runtime = await world.spawn(COUNTER, 20_000);
    await runtime.waitForState("running");
    await runtime.bindUi();
    const trips: number[] = [];
    for (let i = 0; i < 520; i++) {
      const reply = runtime.nextMessage();
      const started = performance.now();
      await runtime.post("get");
      await reply;
      if (i >= 20) trips.push((performance.now() - started) * 1000);
    }
    await runtime.stop();
    await runtime.exitCode;
    await appd.stop();

    return [
      result("app launch → window mapped p50 (counter, warm)", percentile(launches, 50), "ms", "Chromium alone → mapped p50", percentile(baselineLaunches, 50)),
      result("app launch → window mapped p95", percentile(launches, 95), "ms", "Chromium alone → mapped p95", percentile(baselineLaunches, 95)),
      result("page → Wasm → page round trip p50", percentile(samples, 50), "µs", "runtime Post → Message p50", percentile(trips, 50)),
      result("page → Wasm → page round trip p99", percentile(samples, 99), "µs", "runtime Post → Message p99", percentile(trips, 99)),
      result("app session PSS (runtime + app-shell + Chromium)", sessionPss / 1024, "MiB", "Chromium alone", chromiumPss / 1024),
    ];
  } finally {
    await world.close();
  }
}
