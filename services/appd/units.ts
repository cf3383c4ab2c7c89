/**
 * Transient systemd scopes for sessions. When `org.freedesktop.systemd1` is on appd's bus, each session's
 * runtime is moved into `app-weft-<app_id>-<session_id>.scope` in `app.slice`, with the limits of the design
 * (CPUQuota=200 %, MemoryMax=512M). A scope adopts processes that already exist, so the runtime is spawned
 * first and its pid handed over in `PIDs`. The reference asked `systemd-run --scope --wait`, a combination
 * systemd refuses, so its limits never applied (SPEC 9, item 7); this is the D-Bus call systemd-run makes.
 *
 *   Subscribe()                                     (systemd sends JobRemoved only to subscribers)
 *   StartTransientUnit(name, "fail", properties, []) → job path
 *   JobRemoved(id, job, unit, result)               result "done" = the scope exists and holds the pid
 */

import { Variant } from "dbus-next";
import type { BusConnection } from "../common/bus/index.ts";

export const SYSTEMD_NAME = "org.freedesktop.systemd1";
const SYSTEMD_PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";

export const SESSION_SLICE = "app.slice";
/** CPUQuota=200 %: two CPUs' worth of time per second. */
export const CPU_QUOTA_PER_SEC_USEC = 2_000_000n;
/** MemoryMax=512M. */
export const MEMORY_MAX_BYTES = 512n * 1024n * 1024n;
const JOB_TIMEOUT_MS = 5_000;

/** The longest unit name systemd accepts (UNIT_NAME_MAX). */
const UNIT_NAME_MAX = 255;
const unitNameChars = /^[A-Za-z0-9:_.\\-]+$/;

/**
 * `app-weft-<app_id>-<session_id>.scope`. App ids (app-id.ts) are lowercase letters, digits and dots, all
 * valid in unit names, and at most 128 characters, so the name always fits; checked anyway, since a unit
 * name that systemd rejects would fail every launch of that app.
 */
export function sessionUnitName(appId: string, sessionId: bigint): string {
  const name = `app-weft-${appId}-${sessionId}.scope`;
  if (name.length > UNIT_NAME_MAX || !unitNameChars.test(name)) throw new Error(`${JSON.stringify(name)} is not a valid systemd unit name`);
  return name;
}

/** The properties of a session's scope, as StartTransientUnit takes them (`a(sv)`). */
export function scopeProperties(appId: string, sessionId: bigint, pid: number): [string, Variant][] {
  return [
    ["Description", new Variant("s", `WEFT app ${appId}, session ${sessionId}`)],
    ["Slice", new Variant("s", SESSION_SLICE)],
    ["PIDs", new Variant("au", [pid])],
    ["CPUQuotaPerSecUSec", new Variant("t", CPU_QUOTA_PER_SEC_USEC)],
    ["MemoryMax", new Variant("t", MEMORY_MAX_BYTES)],
    // A failed scope is garbage-collected like an inactive one instead of lingering until reset-failed.
    ["CollectMode", new Variant("s", "inactive-or-failed")],
    // The app-shell joins the scope later (AttachProcessesToUnit), and systemd moves processes only into
    // delegated units ("Process migration not available on non-delegated units"). The limits above still hold
    // for the whole scope; the user's processes could already write the cgroup files of their own subtree.
    ["Delegate", new Variant("b", true)],
  ];
}

export class UnitError extends Error {
  override name = "UnitError";
}

/** appd's view of systemd on its bus. */
export class SystemdScopes {
  constructor(private readonly bus: BusConnection) {}

  /** True when systemd (or a stand-in) owns its name on the bus now. */
  async available(): Promise<boolean> {
    return this.bus.nameHasOwner(SYSTEMD_NAME);
  }

  /** Creates the session's scope around `pid` and waits until systemd has finished the job. */
  async startScope(appId: string, sessionId: bigint, pid: number): Promise<string> {
    const unit = sessionUnitName(appId, sessionId);
    const manager = { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER };
    let job: string | undefined;
    let settle!: (result: string) => void;
    const finished = new Promise<string>((resolve) => (settle = resolve));
    const early = new Map<string, string>(); // JobRemoved may arrive before StartTransientUnit's reply
    const subscription = await this.bus.subscribeSignal(
      { sender: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "JobRemoved" },
      (body) => {
        const [, jobPath, , result] = body as [number, string, string, string];
        if (job === undefined) early.set(jobPath, result);
        else if (jobPath === job) settle(result);
      },
    );
    try {
      await this.bus.call({ ...manager, member: "Subscribe" }).catch(() => undefined); // already subscribed is fine
      try {
        [job] = (await this.bus.call({
          ...manager,
          member: "StartTransientUnit",
          signature: "ssa(sv)a(sa(sv))",
          body: [unit, "fail", scopeProperties(appId, sessionId, pid), []],
        })) as [string];
      } catch (error) {
        throw new UnitError(`systemd refused to start ${unit}: ${(error as Error).message}`);
      }
      const seen = early.get(job!);
      if (seen !== undefined) settle(seen);
      const timeout = Bun.sleep(JOB_TIMEOUT_MS).then(() => "timeout");
      const result = await Promise.race([finished, timeout]);
      if (result !== "done") throw new UnitError(`systemd could not start ${unit}: job ${job} ended with "${result}"`);
      return unit;
    } finally {
      await subscription.close();
    }
  }

  /**
   * Moves `pid` into the session's scope (the app-shell, spawned after the scope exists): systemd's
   * AttachProcessesToUnit. Chromium, started by it later, is born inside.
   */
  async attach(unit: string, pid: number): Promise<void> {
    try {
      await this.bus.call(
        { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "AttachProcessesToUnit", signature: "ssau", body: [unit, "", [pid]] },
        { timeoutMs: 5_000 },
      );
    } catch (error) {
      throw new UnitError(`systemd would not move pid ${pid} into ${unit}: ${(error as Error).message}`);
    }
  }

  /** Sends `signal` to every process of the unit (teardown, after the grace). */
  async killUnit(unit: string, signal: number): Promise<void> {
    await this.bus.call(
      { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "KillUnit", signature: "ssi", body: [unit, "all", signal] },
      { timeoutMs: 2_000 },
    );
  }
}
