/**
 * Echo round trip over a private bus: a Bun client calls `org.weft.Test1.Echo` on a Bun service running in
 * a child process, one call at a time after a warm-up. The baseline, measured in the same run from the
 * same client, is a round trip to dbus-daemon itself (`org.freedesktop.DBus.GetId`): what the bus costs
 * without a Bun service at the other end.
 *
 * `bun run bench` calls benchBus(); run this file with `--serve <address>` to be the service.
 */
import { percentile, result, type BenchResult } from "./result.ts";
import { connectBus, type BusConnection } from "../services/common/bus/connection.ts";
import { TEST1, TEST1_CONTRACT, exportTest1 } from "../testing/test1.ts";
import { startPrivateBus } from "../testing/bus.ts";

export interface EchoBenchOptions {
  /** Measured calls (2000). */
  calls?: number;
  /** Calls before measuring (200). */
  warmup?: number;
}

export interface LatencySummary {
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface EchoBenchResult {
  /** Bun client → dbus-daemon → Bun service (child process) → back. */
  echo: LatencySummary;
  /** Bun client → dbus-daemon → back. */
  daemon: LatencySummary;
}

/** Measures the echo round trip and its baseline; starts and stops its own bus and service process. */
export async function measureEchoRoundTrip(options: EchoBenchOptions = {}): Promise<EchoBenchResult> {
  const calls = options.calls ?? 2000;
  const warmup = options.warmup ?? 200;
  await using bus = await startPrivateBus();
  const server = Bun.spawn([process.execPath, import.meta.path, "--serve", bus.address], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  try {
    await waitForReady(server.stdout);
    await using client = await connectBus({ address: bus.address });
    const echo = client.client(TEST1_CONTRACT, TEST1);
    const daemonCall = () =>
      client.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "GetId" });
    const text = "x".repeat(64);
    return {
      echo: await sample(() => echo.call("Echo", text), calls, warmup),
      daemon: await sample(daemonCall, calls, warmup),
    };
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}

/** The D-Bus entries of `bun run bench`. */
export async function benchBus(): Promise<BenchResult[]> {
  const { echo, daemon } = await measureEchoRoundTrip();
  return [
    result("D-Bus echo round trip p50 (Bun→Bun)", echo.p50Us, "µs", "Bun→dbus-daemon GetId p50", daemon.p50Us),
    result("D-Bus echo round trip p99 (Bun→Bun)", echo.p99Us, "µs", "Bun→dbus-daemon GetId p99", daemon.p99Us),
  ];
}

async function sample(call: () => Promise<unknown>, calls: number, warmup: number): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await call();
  const micros: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await call();
    micros.push((performance.now() - start) * 1000);
  }
  return {
    calls,
    p50Us: percentile(micros, 50),
    p99Us: percentile(micros, 99),
    meanUs: micros.reduce((a, b) => a + b, 0) / micros.length,
  };
}

async function waitForReady(stdout: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stdout.getReader();
  let text = "";
  const timeout = Bun.sleep(10_000).then(() => "timeout" as const);
  try {
    while (!text.includes("ready\n")) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout") throw new Error("the echo service did not start within 10 s");
      if (next.done) throw new Error("the echo service exited before it was ready");
      text += new TextDecoder().decode(next.value);
    }
  } finally {
    reader.releaseLock();
  }
}

async function serve(address: string): Promise<void> {
  const bus: BusConnection = await connectBus({ address });
  await bus.requestName(TEST1);
  exportTest1(bus);
  const stop = async () => {
    await bus.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdout.write("ready\n");
}

if (import.meta.main) {
  const at = process.argv.indexOf("--serve");
  const address = at >= 0 ? process.argv[at + 1] : undefined;
  if (address === undefined) {
    const measured = await measureEchoRoundTrip();
    console.log(JSON.stringify(measured, null, 2));
  } else {
    await serve(address);
  }
}
