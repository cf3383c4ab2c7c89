/**
 * Runs NativeCompositor in a process of its own for native.test.ts: wlroots reads WLR_BACKENDS with getenv(),
 * which sees the environment the process started with, not later writes to process.env. Prints one JSON
 * object with what it observed.
 */
import { readSync } from "node:fs";
import { closeFd } from "../common/bus/index.ts";
import { CompositorError, NativeCompositor } from "./native.ts";

function waitForCount(compositor: NativeCompositor, expected: number): number {
  // Disconnects are noticed on the compositor thread's next dispatch: poll briefly.
  const deadline = Date.now() + 5_000;
  let count = compositor.clientCount();
  while (count !== expected && Date.now() < deadline) {
    Bun.sleepSync(5);
    count = compositor.clientCount();
  }
  return count;
}

const observed: Record<string, unknown> = {};
for (let run = 0; run < 2; run++) {
  const compositor = NativeCompositor.start();
  observed[`outputs${run}`] = compositor.listOutputs();
  const held = [compositor.openClient("shell", 1n), compositor.openClient("application", 2n)];
  observed[`held${run}`] = compositor.clientCount();
  for (const fd of held) closeFd(fd);
  observed[`afterClose${run}`] = waitForCount(compositor, 0);
  for (let i = 0; i < 100; i++) closeFd(compositor.openClient(i % 2 === 0 ? "shell" : "application", BigInt(i)));
  observed[`afterCycles${run}`] = waitForCount(compositor, 0);
  // A connection still open at stop is disconnected by the compositor: its peer sees end of file.
  const openAtStop = compositor.openClient("application", 3n);
  compositor.close();
  observed[`endOfFileAtStop${run}`] = readSync(openAtStop, Buffer.alloc(64)) === 0;
  closeFd(openAtStop);
  try {
    compositor.openClient("shell", 1n);
    observed[`afterStop${run}`] = "no error";
  } catch (error) {
    observed[`afterStop${run}`] = error instanceof CompositorError ? "CompositorError" : String(error);
  }
}
process.stdout.write(JSON.stringify(observed));
