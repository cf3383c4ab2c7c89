/**
 * Runs libweft-compositor in a process of its own for weft-shell.test.ts's navigation gesture test: there is
 * no gesture recogniser yet, so the gesture enters through weft_compositor_test_navigation_gesture, which
 * calls the real layout_navigation_gesture (the path the recogniser will take). Its own process because
 * wlroots reads WLR_BACKENDS with getenv(). argv[2]: a directory for the probes' logs. Prints one JSON object.
 */
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { closeFd } from "../common/bus/index.ts";
import { compositorLibraryPath } from "./native.ts";
import { ScriptProbe } from "./shell-probe.ts";
import type { SpawnedClient } from "./testing.ts";

const lib = dlopen(compositorLibraryPath(), {
  weft_compositor_start: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  weft_compositor_open_client: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_test_navigation_gesture: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.f64, FFIType.f64], returns: FFIType.i32 },
  weft_compositor_stop: { args: [FFIType.ptr], returns: FFIType.void },
}).symbols;

const error = new Uint8Array(256);
const handle = lib.weft_compositor_start(error, error.length) as Pointer | null;
if (handle === null) throw new Error(`the compositor did not start: ${Buffer.from(error).toString()}`);
const logDir = process.argv[2]!;

/** spawnClient's contract (testing.ts) on this in-process compositor; shell role only. */
const world = {
  async spawnClient(argv: string[], _role: "shell" | "application", session: bigint, options: { env?: Record<string, string>; stdin?: "ignore" | "pipe" } = {}): Promise<SpawnedClient> {
    const fd = lib.weft_compositor_open_client(handle, 0, session);
    if (fd < 0) throw new Error(`open_client: ${fd}`);
    const child = Bun.spawn(argv, {
      env: { ...process.env, WAYLAND_SOCKET: "3", WAYLAND_DISPLAY: "", ...options.env },
      stdio: [options.stdin ?? "ignore", "pipe", "pipe", fd],
    }) as Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">;
    closeFd(fd);
    const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]).then(([stdout, stderr]) => ({ stdout, stderr }));
    return { process: child, output, kill: async () => (child.kill("SIGKILL"), void (await child.exited)) };
  },
};

const v2 = await ScriptProbe.start(world, logDir, "shell", 1n);
const v1 = await ScriptProbe.start(world, logDir, "shell", 1n, { WEFT_PROBE_MANAGER_VERSION: "1" });
await v2.run("create panel panel none 0 0 1280 30");
await v2.run("create page normal bare 0 0 100 100");
await v2.run("create dead normal bare 0 0 100 100");
await v2.run("destroy-surface dead"); // defunct: no gestures any more
await v1.run("create old panel none 0 680 1280 40");

const results = [lib.weft_compositor_test_navigation_gesture(handle, 0, 3, 120.5, -40.25), lib.weft_compositor_test_navigation_gesture(handle, 2, 4, 0, 0), lib.weft_compositor_test_navigation_gesture(handle, 7, 3, 0, 0)];
await v2.waitFor((e) => e.event === "navigation_gesture" && e.window === "page" && e.type === 2, "both gestures on page");
await v1.run("sync"); // anything sent to it before the sync's answer has arrived by now
await v2.run("sync");
const gestures = (probe: ScriptProbe) => probe.events().filter((e) => e.event === "navigation_gesture");
process.stdout.write(JSON.stringify({ results, v2: gestures(v2), v1: gestures(v1), v1Version: v1.events()[0]?.version }));
await v2.close();
await v1.close();
lib.weft_compositor_stop(handle);
