/**
 * vm/test [--out DIR]: the smoke test of WEFT OS. It boots the image under QEMU (building it first when needed)
 * and drives the guest from here over its control channel (agent.ts; the VM has no network). One line per check,
 * with its figure; the first check that fails stops the test (exit 1) after saving what explains it.
 *
 *   boot            the guest answers on its control channel
 *   session         weft-session.target active at boot, every unit of it active, no failed unit anywhere
 *   contracts       `busctl --user introspect` of every service equals protocol/dbus (vm/checks/introspect.ts)
 *   demo            `weft demo` on the real user bus: launcher → Counter ×3 → Notes typed, saved, terminated,
 *                   relaunched; meanwhile a monitor and an eavesdropper on that bus see none of the sessions' IPC
 *                   (vm/checks/watch-bus.ts)
 *   limits          scope, cgroup values, Chromium's sandbox, the CPU quota, an out-of-memory kill that spares the
 *                   other session (vm/checks/limits.ts, with the fixture app vm/fixtures/apps/org.weft.test.limits)
 *   appd restart    `systemctl --user restart weft-appd` leaves nothing of the old sessions and starts them again
 *                   (vm/checks/appd-restart.ts)
 *   shutdown        stopping weft-session.target and powering off leave no failed unit
 *   no answer       a guest that never answers is reported when its deadline passes, never waited for forever
 *
 * What it saves in --out (default out/vm-test-<time>/): the serial console, the guest's journal, the demo's
 * screenshots and summary, and summary.json with every figure. Exit codes: 0 passed, 1 a check failed, 2 usage.
 */

import { mkdirSync, writeFileSync, copyFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildApps } from "../apps/build.ts";
import { Agent, AgentError, type RunAs } from "./agent.ts";
import { BuildError } from "./build.ts";
import { REPO } from "./image.ts";
import { Machine, MachineError, prepareBoot, type MachineOptions } from "./machine.ts";

const USAGE = "usage: vm/test [--out DIR]\n\n  Boots WEFT OS under QEMU and checks it from outside (docs/vm.md); screenshots, logs and figures go to --out.";
/** The VM of the test: three CPUs, so a session can ask for more than its quota of two. */
const TEST_CPUS = 3;
const TEST_MEMORY_MIB = 6144;
/** Deadlines, sized for TCG on a loaded 2-core host (Chromium alone takes ~30 s to start there). */
const BOOT_DEADLINE_S = 420;
const SESSION_DEADLINE_S = 900;
const DEMO_DEADLINE_S = 2400;
const LIMITS_DEADLINE_S = 1800;
const RESTART_DEADLINE_S = 1800;
const POWEROFF_DEADLINE_S = 180;
const SHUTDOWN_JOBS_DEADLINE_S = 300;
const NO_ANSWER_DEADLINE_S = 20;
const CHECKOUT = "/opt/weft";
const BUN = `${CHECKOUT}/node_modules/.bin/bun`;
const FIXTURES_DIST = join(REPO, "vm/fixtures/dist");
/** Text only the demo's pages and components exchange (page → guest and back), never any other message. */
const IPC_MARKERS = ["save:Hello from the WEFT demo", '{"count":', '{"text":"Hello from the WEFT demo'];

class CheckFailed extends Error {
  override name = "CheckFailed";
}

interface Figures {
  [name: string]: unknown;
}

class SmokeTest {
  readonly figures: Figures = {};
  readonly lines: string[] = [];
  machine: Machine | undefined;
  agent: Agent | undefined;

  constructor(readonly outDir: string) {}

  /** Prints one check line: its name, and its figure. */
  report(ok: boolean, what: string, figure: string): void {
    const line = `${ok ? "ok  " : "FAIL"} ${what.padEnd(64)} ${figure}`;
    this.lines.push(line);
    console.log(line);
  }

  /** Runs `script` in the guest; a failure or a timeout fails the check `what`, with the script's own words. */
  async guest(what: string, script: string, options: { as?: RunAs; timeoutS: number }): Promise<string> {
    try {
      return await this.agent!.check(script, options);
    } catch (error) {
      throw new CheckFailed(`${what}: ${(error as Error).message}`);
    }
  }

  /** Runs a check script of vm/checks in the guest as weft; relays its lines and returns its RESULT object. */
  async checkScript(what: string, name: string, args: string[], timeoutS: number): Promise<Record<string, unknown>> {
    const result = await this.agent!.run(`cd /home/weft && exec ${BUN} ${CHECKOUT}/vm/checks/${name} ${args.map(shellQuote).join(" ")}`, { as: "weft", timeoutS });
    let figures: Record<string, unknown> = {};
    for (const line of result.stdout.split("\n")) {
      if (line.startsWith("RESULT ")) figures = JSON.parse(line.slice(7)) as Record<string, unknown>;
      else if (line.startsWith("ok   ") || line.startsWith("FAIL ")) {
        const [, status, text] = /^(ok  |FAIL) (.*)$/.exec(line)!;
        const colon = text!.indexOf(": ");
        this.report(status === "ok  ", colon > 0 ? text!.slice(0, colon) : text!, colon > 0 ? text!.slice(colon + 2) : "");
      } else if (line.trim() !== "") console.log(`     ${line}`);
    }
    if (result.code !== 0) {
      const why = result.code === 124 ? `timed out after ${timeoutS} s` : `exit ${result.code}`;
      throw new CheckFailed(`${what}: ${why}${result.stderr.trim() ? `: ${result.stderr.trim().split("\n").slice(-6).join(" | ")}` : ""}`);
    }
    return figures;
  }

  async until(what: string, probe: () => Promise<boolean>, deadlineS: number, everyS = 2): Promise<number> {
    const started = performance.now();
    const deadline = Date.now() + deadlineS * 1000;
    for (;;) {
      if (await probe().catch(() => false)) return (performance.now() - started) / 1000;
      if (this.machine?.process.exitCode !== null && this.machine?.process.exitCode !== undefined) throw new CheckFailed(`${what}: QEMU exited`);
      if (Date.now() > deadline) throw new CheckFailed(`${what}: not within ${deadlineS} s`);
      await Bun.sleep(everyS * 1000);
    }
  }

  /** What the guest can still tell (its journal), and what QEMU printed, into --out. */
  async saveEvidence(): Promise<void> {
    if (this.agent !== undefined && this.machine?.process.exitCode === null) {
      const journal = await this.agent.run("journalctl -b --no-pager -o short-monotonic; echo; runuser -u weft -- env XDG_RUNTIME_DIR=/run/user/$(id -u weft) journalctl --user -b --no-pager -o short-monotonic 2>/dev/null", { as: "root", timeoutS: 60 }).catch(() => undefined);
      if (journal !== undefined) writeFileSync(join(this.outDir, "journal.txt"), journal.stdout);
    }
    if (this.machine !== undefined && existsSync(this.machine.serialLog)) copyFileSync(this.machine.serialLog, join(this.outDir, "serial.log"));
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

async function run(test: SmokeTest): Promise<void> {
  // --- prepare ---------------------------------------------------------------------------------------------------
  const { image, accel, why, wasmtimeShare } = await prepareBoot();
  const built = await buildApps({ appsDir: join(REPO, "vm/fixtures/apps"), distDir: FIXTURES_DIST });
  for (const app of built) if (app.warnings.length > 0) console.log(`     fixture ${app.id}: ${app.warnings.join("; ")}`);
  Object.assign(test.figures, { image: image.key, accelerator: accel, acceleratorWhy: why, cpus: TEST_CPUS, memoryMiB: TEST_MEMORY_MIB });
  console.log(`vm/test: image ${image.key}, ${accel.toUpperCase()} (${why}), ${TEST_CPUS} CPUs, ${TEST_MEMORY_MIB} MiB → ${test.outDir}`);

  const runDir = join(test.outDir, "run");
  const options: MachineOptions = {
    image,
    accel,
    memoryMiB: TEST_MEMORY_MIB,
    cpus: TEST_CPUS,
    mode: "test",
    runDir,
    console: false,
    window: false,
    agent: true,
    wasmtimeShare,
  };

  // --- boot ----------------------------------------------------------------------------------------------------
  const machine = (test.machine = Machine.start(options));
  const agent = (test.agent = await Agent.connect(machine.agentSocket, () => machine.process.exitCode === null).catch((error: Error) => {
    throw new CheckFailed(`boot: ${error.message}${machine.stderr ? `: ${machine.stderr.trim()}` : ""}`);
  }));
  try {
    await agent.waitUntilAnswering(BOOT_DEADLINE_S * 1000, () => machine.process.exitCode === null);
  } catch (error) {
    throw new CheckFailed(`boot: ${(error as Error).message}; the serial console's last lines:\n${machine.serialTail()}${machine.stderr ? `\nQEMU: ${machine.stderr.trim()}` : ""}`);
  }
  test.figures.agentAnsweringS = Number(machine.uptime().toFixed(1));
  test.report(true, "boot: the guest answers on its control channel", `${machine.uptime().toFixed(1)} s after QEMU started`);

  // --- the control channel itself, with requests a broken host could send ----------------------------------------------
  const script = Buffer.from("id -un").toString("base64");
  const malformed = [["nobody", "5", script], ["root", "0", script], ["root", "x", script], ["root", "9999999", script], ["root", "5", "!!!"], ["root", "5"], []];
  const answers = await Promise.all(malformed.map((fields) => agent.raw(fields)));
  const refusedAll = answers.every((a) => a.code === 2 && a.stderr.includes("malformed request"));
  const killed = await agent.run("sleep 30", { as: "root", timeoutS: 1 });
  const asWeft = (await agent.run("id -un", { as: "weft", timeoutS: 10 })).stdout.trim();
  const channelOk = refusedAll && killed.code === 124 && asWeft === "weft";
  test.report(channelOk, "the control channel refuses malformed requests and keeps deadlines", `${answers.filter((a) => a.code === 2).length}/${malformed.length} refused, a 1 s deadline ended a 30 s script (exit ${killed.code}), runs as ${asWeft}`);
  if (!channelOk) throw new CheckFailed(`the control channel: ${JSON.stringify(answers)}; deadline exit ${killed.code}; user ${asWeft}`);

  // --- the session at boot -----------------------------------------------------------------------------------------
  const targetActive = () => agent.run("systemctl --user is-active weft-session.target", { as: "weft", timeoutS: 20 }).then((r) => r.stdout.trim() === "active");
  await test.until("weft-session.target active", targetActive, SESSION_DEADLINE_S);
  const hostSeconds = machine.uptime();
  const units = await test.guest(
    "the session's units",
    "systemctl --user show -p Id -p ActiveState -p SubState weft-compositor.service weft-file-portal.service weft-appd.service weft-shell.service weft-session.target; echo; systemctl --user show -p ActiveEnterTimestampMonotonic --value weft-session.target",
    { as: "weft", timeoutS: 30 },
  );
  const blocks = units.trim().split("\n\n");
  const targetUs = Number(blocks.at(-1)!.trim());
  const states = blocks.slice(0, -1).map((block) => Object.fromEntries(block.split("\n").map((line) => line.split("=") as [string, string])));
  const notActive = states.filter((unit) => unit.ActiveState !== "active");
  const failed = await test.guest("failed units", "systemctl --failed --no-legend --plain; systemctl --user --failed --no-legend --plain", { as: "weft", timeoutS: 30 });
  Object.assign(test.figures, { bootToSessionGuestS: Number((targetUs / 1e6).toFixed(1)), bootToSessionHostS: Number(hostSeconds.toFixed(1)) });
  const sessionOk = notActive.length === 0 && failed.trim() === "" && states.length === 5;
  test.report(
    sessionOk,
    "boot → weft-session.target active, every unit active, none failed",
    `${(targetUs / 1e6).toFixed(1)} s of guest uptime (${hostSeconds.toFixed(0)} s after QEMU started, ${accel.toUpperCase()})`,
  );
  if (!sessionOk) throw new CheckFailed(`the session at boot: not active: ${notActive.map((u) => `${u.Id} ${u.ActiveState}/${u.SubState}`).join(", ") || "none"}; failed: ${failed.trim() || "none"}`);

  // --- contracts ------------------------------------------------------------------------------------------------------
  const contracts = await test.guest("busctl --user introspect", `exec ${BUN} ${CHECKOUT}/vm/checks/introspect.ts`, { as: "weft", timeoutS: 300 });
  test.report(true, "busctl --user introspect of every service equals protocol/dbus", `${contracts.trim().split("\n").length} interfaces`);

  // --- the demo on the real user bus, watched ---------------------------------------------------------------------------
  await test.guest(
    "start the bus watchers",
    `mkdir -p /home/weft/watch && setsid ${BUN} ${CHECKOUT}/vm/checks/watch-bus.ts watch /home/weft/watch >/home/weft/watch/log 2>&1 </dev/null & echo $! >/home/weft/watch/pid; for i in $(seq 100); do grep -q watching /home/weft/watch/log && exit 0; sleep 0.2; done; cat /home/weft/watch/log; exit 1`,
    { as: "weft", timeoutS: 60 },
  );
  const demo = await agent.run(`cd /home/weft && exec ${BUN} ${CHECKOUT}/services/desktop-session/main.ts demo --out /home/weft/demo --patience 10`, { as: "weft", timeoutS: DEMO_DEADLINE_S });
  for (const line of demo.stdout.split("\n")) if (line.trim() !== "") console.log(`     ${line}`);
  const demoSaved = await agent.run("cd /home/weft/demo && tar -cf - . | base64 -w0", { as: "weft", timeoutS: 120 }).catch(() => undefined);
  if (demoSaved?.code === 0) {
    const demoDir = join(test.outDir, "demo");
    mkdirSync(demoDir, { recursive: true });
    Bun.spawnSync(["tar", "-xf", "-", "-C", demoDir], { stdin: Buffer.from(demoSaved.stdout, "base64") });
  }
  if (demo.code !== 0) throw new CheckFailed(`the demo on the real user bus: exit ${demo.code}${demo.stderr.trim() ? `: ${demo.stderr.trim().split("\n").slice(-4).join(" | ")}` : ""} (screenshots in ${join(test.outDir, "demo")})`);
  const summary = JSON.parse(await Bun.file(join(test.outDir, "demo/summary.json")).text()) as { totalMs: number; steps: { name: string; ms: number }[] };
  const stepMs = (prefix: string) => Math.round(summary.steps.find((s) => s.name.startsWith(prefix))?.ms ?? 0);
  Object.assign(test.figures, {
    demoSeconds: Math.round(summary.totalMs / 1000),
    launchCounterFirstMs: stepMs("open the launcher and start Counter"),
    launchNotesFirstMs: stepMs("start Notes"),
    launchNotesAgainMs: stepMs("launch Notes again"),
  });
  test.report(true, "the demo on the real user bus (7 steps)", `${(summary.totalMs / 1000).toFixed(0)} s; launch from a tile: Counter ${(stepMs("open the launcher and start Counter") / 1000).toFixed(1)} s, Notes ${(stepMs("start Notes") / 1000).toFixed(1)} s (first: compiles), Notes again ${(stepMs("launch Notes again") / 1000).toFixed(1)} s`);
  await test.guest("stop the bus watchers", "kill -TERM $(cat /home/weft/watch/pid); for i in $(seq 100); do kill -0 $(cat /home/weft/watch/pid) 2>/dev/null || exit 0; sleep 0.2; done; exit 1", { as: "weft", timeoutS: 60 });
  await test.checkScript("the sessions' IPC kept from the bus", "watch-bus.ts", ["report", "/home/weft/watch", ...IPC_MARKERS], 300);

  // --- limits, sandbox ---------------------------------------------------------------------------------------------------
  await test.guest("install the limits fixture", `exec ${BUN} ${CHECKOUT}/services/pack/main.ts install ${CHECKOUT}/vm/fixtures/dist/org.weft.test.limits`, { as: "weft", timeoutS: 900 });
  Object.assign(test.figures, { limits: await test.checkScript("limits", "limits.ts", [], LIMITS_DEADLINE_S) });

  // --- appd restart ----------------------------------------------------------------------------------------------------------
  Object.assign(test.figures, { appdRestart: await test.checkScript("systemctl --user restart weft-appd", "appd-restart.ts", [], RESTART_DEADLINE_S) });

  // --- shutdown ------------------------------------------------------------------------------------------------------------------
  // The target is ordered after its services, so it stops first and `systemctl stop` returns then: wait for the
  // services' own stop jobs (appd ending the sessions, then the rest) before looking.
  const stopStarted = performance.now();
  const stopped = await test.guest(
    "stop weft-session.target",
    `systemctl --user stop weft-session.target || exit 1
     for i in $(seq ${SHUTDOWN_JOBS_DEADLINE_S * 2}); do [ -z "$(systemctl --user list-jobs --no-legend)" ] && break; sleep 0.5; done
     systemctl --user list-units --all --no-legend --plain 'weft-*' 'app-weft-*'; echo '--'; systemctl --failed --no-legend --plain; systemctl --user --failed --no-legend --plain`,
    { as: "weft", timeoutS: SHUTDOWN_JOBS_DEADLINE_S + 60 },
  );
  const stopSeconds = (performance.now() - stopStarted) / 1000;
  test.figures.stopSessionSeconds = Number(stopSeconds.toFixed(1));
  const [listed = "", failedAfter = ""] = stopped.split("--\n");
  const stillActive = listed.split("\n").filter((line) => line.trim() !== "" && !/\sinactive\s/.test(line));
  test.report(stillActive.length === 0 && failedAfter.trim() === "", "stop weft-session.target: every unit inactive, no scope, none failed", stillActive.join("; ") || `${stopSeconds.toFixed(1)} s`);
  if (stillActive.length > 0 || failedAfter.trim() !== "") throw new CheckFailed(`stopping the session left: ${stillActive.join("; ") || "nothing active"}; failed: ${failedAfter.trim() || "none"}`);
  await test.saveEvidence();
  const serialBefore = (await Bun.file(machine.serialLog).text().catch(() => "")).length;
  // Shutdown stops the control channel's own service: power off a moment after the answer has gone out.
  await agent.check("systemd-run --quiet --on-active=2 --timer-property=AccuracySec=100ms systemctl poweroff", { as: "root", timeoutS: 30 });
  const poweroffStarted = performance.now();
  const exited = await machine.waitForExit(POWEROFF_DEADLINE_S * 1000);
  const shutdownLog = (await Bun.file(machine.serialLog).text().catch(() => "")).slice(serialBefore);
  const failures = shutdownLog.split("\n").filter((line) => /FAILED|Failed to/.test(line));
  test.figures.poweroffSeconds = Number(((performance.now() - poweroffStarted) / 1000).toFixed(1));
  test.report(exited && failures.length === 0, "poweroff: QEMU exits, no unit fails on the way down", exited ? `${test.figures.poweroffSeconds} s` : `not within ${POWEROFF_DEADLINE_S} s`);
  if (!exited || failures.length > 0) throw new CheckFailed(`poweroff: ${exited ? failures.join(" | ") : "QEMU did not exit"}`);
  agent.close();
  test.agent = undefined;

  // --- a guest that never answers ------------------------------------------------------------------------------------------------
  const frozen = Machine.start({ ...options, runDir: join(test.outDir, "run-frozen"), extraArguments: ["-S"] });
  const frozenAgent = await Agent.connect(frozen.agentSocket, () => frozen.process.exitCode === null);
  const waited = performance.now();
  let message = "";
  try {
    await frozenAgent.waitUntilAnswering(NO_ANSWER_DEADLINE_S * 1000, () => frozen.process.exitCode === null);
  } catch (error) {
    message = (error as Error).message;
  } finally {
    frozenAgent.close();
    await frozen.kill();
  }
  const seconds = (performance.now() - waited) / 1000;
  const reported = message.includes(`did not answer on its control channel within ${NO_ANSWER_DEADLINE_S} s`) && seconds < NO_ANSWER_DEADLINE_S + 10;
  test.report(reported, "a guest that never answers is reported at its deadline", `${seconds.toFixed(1)} s: ${message || "it answered?"}`);
  if (!reported) throw new CheckFailed("a frozen guest was not reported at its deadline");
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let out: string | undefined;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { out: { type: "string" } }, allowPositionals: true, strict: true });
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 64))}`);
    if (values.out === "") throw new Error("--out needs a directory");
    out = values.out;
  } catch (error) {
    console.error(`vm/test: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const outDir = resolve(out ?? join(REPO, "out", `vm-test-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(outDir, { recursive: true });
  const test = new SmokeTest(outDir);
  const started = performance.now();
  let ok = false;
  try {
    await run(test);
    ok = true;
  } catch (error) {
    const known = error instanceof CheckFailed || error instanceof MachineError || error instanceof BuildError || error instanceof AgentError;
    console.log(`FAIL ${known ? (error as Error).message : (error as Error).stack}`);
    await test.saveEvidence().catch(() => undefined);
  } finally {
    test.agent?.close();
    await test.machine?.kill();
  }
  test.figures.totalSeconds = Math.round((performance.now() - started) / 1000);
  writeFileSync(join(outDir, "summary.json"), JSON.stringify({ ok, checks: test.lines, figures: test.figures }, null, 2) + "\n");
  console.log(ok ? `vm/test: passed in ${test.figures.totalSeconds} s; logs, screenshots and figures in ${outDir}` : `vm/test: FAILED; logs, screenshots and figures in ${outDir}`);
  return ok ? 0 : 1;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
