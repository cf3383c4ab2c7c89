/**
 * `bun run bench vm`: how long WEFT OS takes to boot to its desktop, beside a plain boot of the same image in the
 * same run. Both boots are measured by the guest's own clock (systemd's ActiveEnterTimestampMonotonic: µs since
 * the kernel started), so the host's load while QEMU starts does not count; the accelerator (TCG or KVM) is named.
 *
 *   WEFT      weft.mode=normal: the image as vm/run boots it, until the weft user's weft-session.target is active
 *   baseline  weft.mode=plain: the same image, WEFT's setup left out, until multi-user.target is active
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { result, type BenchResult } from "../bench/result.ts";
import { Agent, type RunAs } from "./agent.ts";
import { Machine, prepareBoot, type BootMode, type BootPlan } from "./machine.ts";

const DEADLINE_S = 900;

/** Boots once in `mode` and returns the guest's uptime (s) when `unit` of `as`'s manager became active. */
async function bootUntil(plan: BootPlan, mode: BootMode, unit: string, as: RunAs): Promise<number> {
  const runDir = mkdtempSync(join(tmpdir(), "weft-vm-bench-"));
  const machine = Machine.start({
    image: plan.image,
    accel: plan.accel,
    memoryMiB: 4096,
    cpus: 2,
    mode,
    runDir,
    console: false,
    window: false,
    agent: true,
    wasmtimeShare: plan.wasmtimeShare,
  });
  try {
    const agent = await Agent.connect(machine.agentSocket, () => machine.process.exitCode === null);
    await agent.waitUntilAnswering(DEADLINE_S * 1000, () => machine.process.exitCode === null);
    const systemctl = as === "root" ? "systemctl" : "systemctl --user";
    const deadline = Date.now() + DEADLINE_S * 1000;
    for (;;) {
      const active = await agent.run(`${systemctl} is-active ${unit}`, { as, timeoutS: 20 });
      if (active.stdout.trim() === "active") break;
      if (Date.now() > deadline) throw new Error(`${unit} was not active within ${DEADLINE_S} s of booting (${mode}); serial console:\n${machine.serialTail()}`);
      await Bun.sleep(1_000);
    }
    const micros = Number((await agent.check(`${systemctl} show -p ActiveEnterTimestampMonotonic --value ${unit}`, { as, timeoutS: 20 })).trim());
    agent.close();
    return micros / 1e6;
  } finally {
    await machine.kill();
    rmSync(runDir, { recursive: true, force: true });
  }
}

export async function benchVm(): Promise<BenchResult[]> {
  const plan = await prepareBoot();
  const plain = await bootUntil(plan, "plain", "multi-user.target", "root");
  const weft = await bootUntil(plan, "normal", "weft-session.target", "weft");
  return [result(`VM boot → weft-session.target active (${plan.accel.toUpperCase()})`, weft, "s", "the same image → multi-user.target, without WEFT", plain)];
}
