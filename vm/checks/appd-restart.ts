/**
 * In the VM (vm/test): `systemctl --user restart weft-appd` does what docs/appd.md promises. The sessions running
 * before (the demo's) are stopped with nothing left of them — no process, no scope, no bus name, no Chromium
 * profile — and the new appd starts the same apps again from last-session.json.
 *
 * One line per check with its figure; a last line `RESULT {json}` for vm/test. Exit 1 at the first failure.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { descendantsOf, processAlive } from "../../services/common/os/processes.ts";
import { AppD, AppD1, AppD1Session, AppShell, Runtime } from "../../protocol/dbus/index.ts";
import { connectBus } from "../../services/common/bus/index.ts";
import { Report } from "./report.ts";

const RELAUNCH_TIMEOUT_MS = 900_000;
const bus = await connectBus();
const report = new Report();
const result = report.figures;
const check = report.check.bind(report);

type Row = [bigint, string, string, string];
async function liveSessions(): Promise<Row[]> {
  try {
    const rows = await bus.proxy(AppD1, AppD).call("ListSessions");
    return rows.filter(([, , state]) => state === "running");
  } catch {
    return []; // appd is restarting
  }
}

async function property(path: string, name: "RuntimePid" | "UiPid" | "UnitName"): Promise<unknown> {
  return bus.proxy(AppD1Session, { busName: AppD.busName, path }).get(name);
}


async function unitLoaded(unit: string): Promise<boolean> {
  const shown = Bun.spawnSync(["systemctl", "--user", "show", "-p", "LoadState", "--value", unit]);
  return shown.stdout.toString().trim() === "loaded";
}

function mainPid(): number {
  return Number(Bun.spawnSync(["systemctl", "--user", "show", "-p", "MainPID", "--value", "weft-appd.service"]).stdout.toString().trim());
}

// --- before ----------------------------------------------------------------------------------------------------
const before = await liveSessions();
check("sessions are running before the restart", before.length > 0, before.map(([id, app]) => `${app} (${id})`).join(", ") || "none");
const old: { id: bigint; app: string; pids: number[]; unit: string; profile: string }[] = [];
const runtimeDir = process.env.XDG_RUNTIME_DIR!;
for (const [id, app, , path] of before) {
  const runtimePid = (await property(path, "RuntimePid")) as number;
  const uiPid = (await property(path, "UiPid")) as number;
  const pids = [runtimePid, ...(uiPid > 0 ? [uiPid, ...descendantsOf(uiPid)] : []), ...descendantsOf(runtimePid)];
  old.push({ id, app, pids, unit: (await property(path, "UnitName")) as string, profile: join(runtimeDir, "weft/app-shell", String(id)) });
}
const oldAppd = mainPid();

// --- the restart -------------------------------------------------------------------------------------------------
const started = performance.now();
const restart = Bun.spawnSync(["systemctl", "--user", "restart", "weft-appd.service"], { stderr: "pipe" });
result.restartMs = Math.round(performance.now() - started);
check("systemctl --user restart weft-appd", restart.exitCode === 0 && mainPid() !== oldAppd && mainPid() > 0, `exit ${restart.exitCode}, appd pid ${oldAppd} → ${mainPid()}, ${result.restartMs} ms ${restart.stderr.toString().trim()}`);

// --- nothing of the old sessions is left ---------------------------------------------------------------------------
const survivors = old.flatMap((s) => s.pids.filter(processAlive));
check("no process of the old sessions is left", survivors.length === 0, `${old.reduce((n, s) => n + s.pids.length, 0)} processes were running; left: ${survivors.join(" ") || "none"}`);
const scopes: string[] = [];
for (const s of old) if (s.unit !== "" && (await unitLoaded(s.unit))) scopes.push(s.unit);
check("no scope of the old sessions is left", scopes.length === 0, scopes.join(" ") || `${old.length} scopes gone`);
const names: string[] = [];
for (const s of old) {
  for (const name of [Runtime.busName(s.id), AppShell.busName(s.id)]) if (await bus.nameHasOwner(name)) names.push(name);
}
check("no bus name of the old sessions is left", names.length === 0, names.join(" ") || "none owned");
const profiles = old.map((s) => s.profile).filter(existsSync);
check("no Chromium profile of the old sessions is left", profiles.length === 0, profiles.join(" ") || "none");

// --- the same apps again -------------------------------------------------------------------------------------------
const wanted = old.map((s) => s.app).sort();
const relaunchStarted = performance.now();
const deadline = Date.now() + RELAUNCH_TIMEOUT_MS;
let after: Row[] = [];
while (Date.now() < deadline) {
  after = await liveSessions();
  if (JSON.stringify(after.map(([, app]) => app).sort()) === JSON.stringify(wanted)) break;
  await Bun.sleep(1_000);
}
result.relaunchMs = Math.round(performance.now() - relaunchStarted);
// Session ids start again at 1 in a new appd: new sessions are told apart by their processes.
const oldPids = new Set(old.flatMap((s) => s.pids));
const fresh = (await Promise.all(after.map(async ([, , , path]) => (await property(path, "RuntimePid")) as number))).every((pid) => pid > 0 && !oldPids.has(pid));
check("the new appd started the same apps again (last-session.json)", JSON.stringify(after.map(([, app]) => app).sort()) === JSON.stringify(wanted) && fresh, `${after.map(([id, app]) => `${app} (${id})`).join(", ")} in ${result.relaunchMs} ms`);

report.done();
await bus.close();
