/**
 * The runtime's performance targets, each beside a baseline measured in the same run:
 *
 *   launch      spawn weft-runtime (compiled component already cached) → Ready on the bus; baseline: spawn a
 *               Bun process that connects to the same bus and owns a name (the runtime minus Wasm)
 *   IPC         UI end Post("get") → guest ipc.recv → ipc.send → Message signal back (counter app); baseline:
 *               a D-Bus method round trip to a Bun service (bus/bench.ts), the floor for any Bun↔Bun exchange
 *   memory      RSS of the running counter session's runtime; baseline: RSS of the baseline Bun process above
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { percentile, result, type BenchResult } from "./result.ts";
import { measureEchoRoundTrip } from "./bus.ts";
import { DEMO_DIST, RuntimeWorld } from "../testing/runtime.ts";

const COUNTER = "org.weft.demo.counter";
const LAUNCHES = 7;
const ROUND_TRIPS = 500;

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

/** A Bun process that does what the runtime does before Wasm: connect, own a name, report. */
const BASELINE_SCRIPT = `
import { connectBus } from ${JSON.stringify(join(import.meta.dir, "../services/common/bus/index.ts"))};
const bus = await connectBus({});
await bus.requestName("org.weft.Bench.S" + process.argv[2]);
process.stdout.write("ready\\n");
await new Promise(() => {});
`;

export async function benchRuntime(): Promise<BenchResult[]> {
  const world = new RuntimeWorld();
  await world.start();
  try {
    await world.install(join(DEMO_DIST, COUNTER));
    const warm = await world.spawn(COUNTER, 1); // fills the compiled-component cache
    await warm.waitForState("running");
    await warm.stop();
    await warm.exitCode;

    const launches: number[] = [];
    for (let i = 0; i < LAUNCHES; i++) {
      const started = performance.now();
      const runtime = await world.spawn(COUNTER, 100 + i);
      await runtime.waitForState("running");
      launches.push(performance.now() - started);
      await runtime.stop();
      await runtime.exitCode;
    }

    const baselineFile = join(world.root, "baseline.ts");
    await Bun.write(baselineFile, BASELINE_SCRIPT);
    const baselineLaunches: number[] = [];
    let baselineRss = NaN;
    for (let i = 0; i < LAUNCHES; i++) {
      const started = performance.now();
      const child = Bun.spawn([process.execPath, baselineFile, String(i)], { env: world.env, stdout: "pipe", stderr: "inherit" });
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      baselineLaunches.push(performance.now() - started);
      if (i === LAUNCHES - 1) baselineRss = rssKiB(child.pid);
      child.kill();
      await child.exited;
    }

    const runtime = await world.spawn(COUNTER, 200);
    await runtime.waitForState("running");
    await runtime.bindUi();
    const trips: number[] = [];
    for (let i = 0; i < ROUND_TRIPS + 50; i++) {
      const reply = runtime.nextMessage();
      const started = performance.now();
      await runtime.post("get");
      await reply;
      if (i >= 50) trips.push((performance.now() - started) * 1000);
    }
    const runtimeRss = rssKiB(runtime.process.pid);
    await runtime.stop();
    await runtime.exitCode;

    const echo = await measureEchoRoundTrip({ calls: 1000, warmup: 100 });
    return [
      result("runtime launch → Ready p50 (counter, cached)", percentile(launches, 50), "ms", "Bun process + bus name p50", percentile(baselineLaunches, 50)),
      result("page-side IPC round trip p50 (Post → guest → Message)", percentile(trips, 50), "µs", "D-Bus echo to a Bun service p50", echo.echo.p50Us),
      result("page-side IPC round trip p99", percentile(trips, 99), "µs", "D-Bus echo to a Bun service p99", echo.echo.p99Us),
      result("runtime RSS, counter running", runtimeRss / 1024, "MiB", "Bun process on the bus", baselineRss / 1024),
    ];
  } finally {
    await world.close();
  }
}
