import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { measureEchoRoundTrip } from "../../../bench/bus.ts";

// Numbers are only reported (bun run bench), never judged here: this checks the harness runs and cleans up.
test("the echo benchmark measures both round trips and stops its service process", async () => {
  const measured = await measureEchoRoundTrip({ calls: 50, warmup: 5 });
  for (const summary of [measured.echo, measured.daemon]) {
    expect(summary.calls).toBe(50);
    expect(summary.p50Us).toBeGreaterThan(0);
    expect(summary.p99Us).toBeGreaterThanOrEqual(summary.p50Us);
  }
  const children = readdirSync("/proc/self/task").flatMap((tid) => readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim().split(" ").filter(Boolean));
  expect(children).toEqual([]); // the service process and the dbus-daemon are gone
});
