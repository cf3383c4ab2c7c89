/**
 * The compositor's performance targets, each beside a baseline measured in the same run (bun run bench):
 *
 *   RSS idle         the weft-compositor service (Bun + wlroots, headless 1280x720) with no client;
 *                    baseline: a Bun process connected to the same bus owning a name (the service minus wlroots)
 *   RSS, 60 fps      the same service while weston-simple-shm redraws on every frame callback (60 Hz output)
 *   CPU share        the service's CPU time over that interval per wall second; baseline: the client's own CPU
 *                    share (drawing the frames), so the ratio says what composing costs next to drawing
 *   screenshot       Screenshot("") → PNG over D-Bus, p50; baseline: ListOutputs over D-Bus p50 (a call that does
 *                    no work), so the ratio is the rendering + encoding cost in units of a bus round trip
 *   commit → frame   weft-frame-bench: commit a new buffer, wait for the frame callback, p50 and p95;
 *                    baseline: the output's refresh interval (a frame callback cannot come sooner than the frame)
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { percentile, result, type BenchResult } from "./result.ts";
import { procStat } from "../services/common/os/processes.ts";
import { CompositorWorld } from "../testing/compositor.ts";

const SAMPLE_SECONDS = 3;
const SCREENSHOTS = 30;
const FRAMES = 240;
const REFRESH_MS = 1000 / 60; // the headless output's 60 Hz

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
}

/** utime + stime of `pid` in seconds (clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const stat = procStat(pid);
  return stat === undefined ? NaN : (stat.utimeTicks + stat.stimeTicks) / 100;
}

async function baselineRss(address: string): Promise<number> {
  const script = `
import { connectBus } from ${JSON.stringify(join(import.meta.dir, "../services/common/bus/index.ts"))};
const bus = await connectBus({ address: ${JSON.stringify(address)} });
await bus.requestName("org.weft.Bench.Baseline");
process.stdout.write("ready\\n");
await new Promise(() => {});
`;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  await (child.stdout as ReadableStream<Uint8Array>).getReader().read();
  await Bun.sleep(500); // settle like the service did
  const rss = rssKiB(child.pid);
  child.kill();
  await child.exited;
  return rss;
}

async function timeCalls(count: number, call: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count + 3; i++) {
    const started = performance.now();
    await call();
    if (i >= 3) samples.push(performance.now() - started);
  }
  return samples;
}

export async function benchCompositor(): Promise<BenchResult[]> {
  const world = await CompositorWorld.start();
  try {
    const pid = world.service.pid;
    await Bun.sleep(500);
    const idleRss = rssKiB(pid);
    const bunRss = await baselineRss(world.bus.address);

    // A client drawing at the output's rate: RSS and CPU of both over the same interval.
    const client = await world.spawnClient(["weston-simple-shm"], "application", 1n);
    await world.waitForWindows((w) => w.length === 1, "weston-simple-shm mapped");
    await Bun.sleep(500);
    const [serviceBefore, clientBefore, started] = [cpuSeconds(pid), cpuSeconds(client.process.pid), performance.now()];
    await Bun.sleep(SAMPLE_SECONDS * 1000);
    const wall = (performance.now() - started) / 1000;
    const serviceShare = (cpuSeconds(pid) - serviceBefore) / wall;
    const clientShare = (cpuSeconds(client.process.pid) - clientBefore) / wall;
    const busyRss = rssKiB(pid);

    const screenshots = await timeCalls(SCREENSHOTS, () => world.call("Screenshot", "s", [""]));
    const listOutputs = await timeCalls(SCREENSHOTS, () => world.call("ListOutputs"));
    await client.kill();

    const bench = await world.spawnClient([join(import.meta.dir, "../native/compositor/target/tools/weft-frame-bench"), String(FRAMES)], "application", 2n);
    const { stdout, stderr } = await bench.output;
    if (bench.process.exitCode !== 0) throw new Error(`weft-frame-bench failed: ${stderr}`);
    const latencies = stdout.trim().split("\n").slice(10).map((line) => Number(line) / 1000); // skip warm-up frames

    return [
      result("compositor RSS idle", idleRss / 1024, "MiB", "Bun process on the bus", bunRss / 1024),
      result("compositor RSS with a 60 fps client", busyRss / 1024, "MiB", "compositor RSS idle", idleRss / 1024),
      result("compositor CPU share with a 60 fps client", serviceShare * 100, "% core", "the client's own CPU share", clientShare * 100),
      result("Screenshot (1280x720 PNG over D-Bus) p50", percentile(screenshots, 50), "ms", "ListOutputs over D-Bus p50", percentile(listOutputs, 50)),
      result("commit → frame callback p50", percentile(latencies, 50), "ms", "output refresh interval", REFRESH_MS),
      result("commit → frame callback p95", percentile(latencies, 95), "ms", "output refresh interval", REFRESH_MS),
    ];
  } finally {
    await world.close();
  }
}
