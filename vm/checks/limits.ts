/**
 * In the VM (vm/test), as the weft user on the real user bus, with the real user manager's cgroup v2 tree: an app
 * session's limits and sandboxes hold.
 *
 *   1. a second session (the counter, headless) is started; it must outlive everything below
 *   2. the limits fixture (org.weft.test.limits, installed by vm/test) is launched with a window: its scope is
 *      app-weft-<app>-<id>.scope in app.slice, holds its runtime, its app-shell and its Chromium, and its cgroup
 *      reads cpu.max "200000 100000" and memory.max 536870912
 *   3. the app's Chromium runs with its own sandbox: no --no-sandbox anywhere, its renderers in a user namespace of
 *      their own with a seccomp filter
 *   4. #spin keeps more than two CPUs busy: over 10 s the scope gets at most its quota, and cpu.stat counts throttled
 *      periods
 *   5. #allocate grows the page past 512 MiB: the kernel kills the session (memory.events), appd ends it with the
 *      out-of-memory reason, and the second session still runs
 *
 * One line per check with its figure; a last line `RESULT {json}` for vm/test. Exit 1 at the first failure.
 */

import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { descendantsOf } from "../../services/common/os/processes.ts";
import { connectBus, Variant } from "../../services/common/bus/index.ts";
import { Report } from "./report.ts";
import { AppD, AppD1, AppD1Session, AppShell, AppShell1Inspect, Compositor, Compositor1, Compositor1TestInput, windowRows, type PropertiesOf } from "../../protocol/dbus/index.ts";

const LIMITS = "org.weft.test.limits";
const COUNTER = "org.weft.demo.counter";
const EXPECTED_CPU_MAX = "200000 100000";
const EXPECTED_MEMORY_MAX = "536870912";
const LAUNCH_TIMEOUT_MS = 600_000;

const bus = await connectBus();
const report = new Report();
const result = report.figures;
const check = report.check.bind(report);

/** Polls `read` until it gives a value; errors meanwhile (a page still loading) are retried, the last one reported. */
async function until<T>(what: string, read: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`);
    await Bun.sleep(everyMs);
  }
}

const appd = bus.proxy(AppD1, AppD);

function session(path: string): Promise<Partial<PropertiesOf<typeof AppD1Session>>> {
  return bus.proxy(AppD1Session, { busName: AppD.busName, path }).getAll();
}

async function launch(appId: string, headless: boolean): Promise<{ id: bigint; path: string }> {
  const [id, path] = await appd.callWith({ timeoutMs: LAUNCH_TIMEOUT_MS }, "Launch", appId, headless ? { headless: new Variant("b", true) } : {});
  return { id, path };
}

/** Clicks the element `selector` of session `id`'s page, at the place the compositor shows it. */
async function click(id: bigint, selector: string): Promise<void> {
  const windows = windowRows(await bus.proxy(Compositor1, Compositor).call("ListWindows"));
  const window = windows.find((w) => w.session === id && w.role === "application");
  if (window === undefined) throw new Error(`session ${id} has no window`);
  const [x, y, width, height] = await bus.proxy(AppShell1Inspect, AppShell.of(id)).call("ElementRect", selector);
  await bus.proxy(Compositor1TestInput, Compositor).call("Click", window.x + x + width / 2, window.y + y + height / 2);
}

async function text(id: bigint, selector: string): Promise<string> {
  return bus.proxy(AppShell1Inspect, AppShell.of(id)).call("ElementText", selector);
}

/** The cgroup v2 path of `pid` ("0::/user.slice/…"), or undefined when it is gone. */
function cgroupOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").match(/^0::(.*)$/m)?.[1];
  } catch {
    return undefined;
  }
}

function readKeyed(file: string): Record<string, number> {
  return Object.fromEntries(readFileSync(file, "utf8").trim().split("\n").map((line) => {
    const [key, value] = line.split(" ");
    return [key!, Number(value)];
  }));
}


/** A process's command line as words. Chromium rewrites its helpers' titles into one space-separated string. */
function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split(/[\0 ]+/).filter(Boolean);
  } catch {
    return [];
  }
}

function status(pid: number, field: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s*(.*)$`, "m"))?.[1];
  } catch {
    return undefined;
  }
}

function userNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

// --- 1. a second session, which must outlive what follows ------------------------------------------------------
const other = await launch(COUNTER, true);
const otherPid = (await session(other.path)).RuntimePid as number;
check("a second session runs (counter, headless)", (await session(other.path)).State === "running", `session ${other.id}, runtime pid ${otherPid}`);

// --- 2. the scope ------------------------------------------------------------------------------------------------
const launchStarted = performance.now();
const limits = await launch(LIMITS, false);
result.launchMs = Math.round(performance.now() - launchStarted);
const props = await session(limits.path);
const unit = props.UnitName as string;
const runtimePid = props.RuntimePid as number;
const uiPid = props.UiPid as number;
const cgroup = cgroupOf(runtimePid) ?? "";
check(
  "the session lives in its transient scope in app.slice",
  unit === `app-weft-${LIMITS}-${limits.id}.scope` && cgroup.endsWith(`/app.slice/${unit}`),
  `${unit}, cgroup ${cgroup} (launch with a window: ${result.launchMs} ms)`,
);
const dir = `/sys/fs/cgroup${cgroup}`;
const cpuMax = readFileSync(`${dir}/cpu.max`, "utf8").trim();
const memoryMax = readFileSync(`${dir}/memory.max`, "utf8").trim();
Object.assign(result, { unit, cpuMax, memoryMax });
check("its cgroup's limits", cpuMax === EXPECTED_CPU_MAX && memoryMax === EXPECTED_MEMORY_MAX, `cpu.max "${cpuMax}", memory.max ${memoryMax}`);
const chromium = descendantsOf(uiPid).filter((pid) => cmdline(pid)[0]?.endsWith("/chromium"));
const members = new Set(readFileSync(`${dir}/cgroup.procs`, "utf8").trim().split("\n").map(Number));
const outside = [runtimePid, uiPid, ...chromium].filter((pid) => !members.has(pid) && existsSync(`/proc/${pid}`));
check("the runtime, the app-shell and its Chromium are all in the scope", chromium.length > 0 && outside.length === 0, `${members.size} processes; ${chromium.length} Chromium processes; outside: ${outside.join(" ") || "none"}`);

// --- 3. Chromium's own sandbox -------------------------------------------------------------------------------------
const unsandboxed = chromium.filter((pid) => cmdline(pid).includes("--no-sandbox"));
const browser = chromium.find((pid) => !cmdline(pid).some((arg) => arg.startsWith("--type=")));
const renderers = chromium.filter((pid) => cmdline(pid).includes("--type=renderer"));
const sandboxed = renderers.filter((pid) => status(pid, "Seccomp") === "2" && userNamespace(pid) !== undefined && userNamespace(pid) !== userNamespace(browser ?? 0));
result.sandbox = { noSandboxFlags: unsandboxed.length, renderers: renderers.length, sandboxedRenderers: sandboxed.length };
check(
  "the app's Chromium keeps its sandbox (no --no-sandbox; renderers in their own user namespace, under seccomp)",
  unsandboxed.length === 0 && renderers.length > 0 && sandboxed.length === renderers.length,
  `${renderers.length} renderers, ${sandboxed.length} sandboxed, ${unsandboxed.length} processes with --no-sandbox`,
);

// --- 4. the CPU quota ---------------------------------------------------------------------------------------------
await until("the page connected", async () => ((await text(limits.id, "#reply")) === "echo:hello" ? true : undefined), 120_000);
await click(limits.id, "#spin");
await until("the page spinning", async () => ((await text(limits.id, "#spinning")) === "spinning" ? true : undefined), 60_000);
await Bun.sleep(5_000); // let every busy thread get going
const before = { stat: readKeyed(`${dir}/cpu.stat`), at: performance.now() };
await Bun.sleep(10_000);
const after = { stat: readKeyed(`${dir}/cpu.stat`), at: performance.now() };
const cpus = (after.stat.usage_usec! - before.stat.usage_usec!) / ((after.at - before.at) * 1000);
const throttled = after.stat.nr_throttled! - before.stat.nr_throttled!;
Object.assign(result, { cpus: Number(cpus.toFixed(2)), throttledPeriods: throttled, onlineCpus: navigator.hardwareConcurrency });
check(
  "a CPU spinner is held to its quota",
  cpus <= 2.1 && throttled > 0,
  `${cpus.toFixed(2)} CPUs over 10 s (quota 2, ${navigator.hardwareConcurrency} in the VM), ${throttled} throttled periods (cpu.stat)`,
);

// --- 5. out of memory ---------------------------------------------------------------------------------------------
const sliceEvents = "/sys/fs/cgroup" + cgroup.slice(0, cgroup.lastIndexOf("/")) + "/memory.events";
const oomKillsBefore = readKeyed(sliceEvents).oom_kill ?? 0;
let scopeOomKills = 0;
await click(limits.id, "#allocate");
const stopped = await until(
  "the session to end",
  async () => {
    // What the scope's own counter says, while it exists (it goes once the session is settled).
    try {
      scopeOomKills = Math.max(scopeOomKills, readKeyed(`${dir}/memory.events`).oom_kill ?? 0);
    } catch {
      // the scope is gone
    }
    const now = await session(limits.path);
    return now.State === "stopped" ? now : undefined;
  },
  300_000,
  100,
);
const oomKills = (readKeyed(sliceEvents).oom_kill ?? 0) - oomKillsBefore;
const reason = stopped.ExitReason as string;
Object.assign(result, { oomKills, scopeOomKills, oomReason: reason });
check("the kernel killed the session over its memory (memory.events)", oomKills > 0, `app.slice memory.events oom_kill +${oomKills}; the scope's own counter read ${scopeOomKills} before it went`);
check("appd ended that session, naming why", reason.includes("ran out of memory"), JSON.stringify(reason));
check("no failed scope is left behind", !existsSync(dir), `${unit} is gone`);
const otherNow = await session(other.path);
check("the second session still runs", otherNow.State === "running" && existsSync(`/proc/${otherPid}`), `session ${other.id}: ${otherNow.State}`);
await appd.callWith({ timeoutMs: 60_000 }, "Terminate", other.id);

report.done();
await bus.close();
