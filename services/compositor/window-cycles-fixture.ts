/**
 * Runs NativeCompositor in a process of its own (wlroots reads WLR_BACKENDS with getenv) for native.test.ts: real
 * clients (Debian's weston-simple-shm) connect, map a window and are killed, over and over. Prints one JSON object:
 * the C heap in use after a warm-up and after the measured cycles, clients and windows left, and the events seen.
 */
import { closeFd } from "../common/bus/index.ts";
import { readEvents, type CompositorEvent } from "./events.ts";
import { NativeCompositor } from "./native.ts";
import { until } from "../../testing/until.ts";

const WARM_UP = 10;
const CYCLES = 100;

const compositor = NativeCompositor.start();
const events: CompositorEvent[] = [];
const reading = readEvents(compositor.takeEventFd(), (event) => events.push(event));

async function cycle(session: number): Promise<void> {
  const fd = compositor.openClient("application", BigInt(session));
  const child = Bun.spawn(["weston-simple-shm"], { env: { ...process.env, WAYLAND_SOCKET: "3" }, stdio: ["ignore", "ignore", "ignore", fd] });
  closeFd(fd);
  await until(() => compositor.listWindows().length === 1, "the window", 10_000, { everyMs: 5 });
  child.kill("SIGKILL");
  await child.exited;
  await until(() => compositor.clientCount() === 0 && compositor.listWindows().length === 0, "the client to be gone", 10_000, { everyMs: 5 });
}

for (let i = 0; i < WARM_UP; i++) await cycle(i + 1);
Bun.gc(true);
const heapBefore = compositor.heapBytes();
for (let i = 0; i < CYCLES; i++) await cycle(WARM_UP + i + 1);
Bun.gc(true);
const heapAfter = compositor.heapBytes();
const clients = compositor.clientCount();
const windows = compositor.listWindows().length;
compositor.close();
await reading;
const count = (kind: string) => events.filter((e) => e.kind === kind).length;
process.stdout.write(
  JSON.stringify({ cycles: CYCLES, heapBefore, heapAfter, clients, windows, mapped: count("window-mapped"), closed: count("window-closed") }),
);
