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
 *
 * A session over its memory limit is killed whole by the kernel (OOMPolicy=kill sets the cgroup's
 * memory.oom.group), and systemd records it as the scope's Result "oom-kill". A failed scope is kept until appd has
 * read that (CollectMode=inactive) and then reset, so none lingers:
 *
 *   GetUnit(name) → unit path; its ActiveState, once inactive or failed; the Scope's Result; ResetFailedUnit(name)
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
/** How long the end of a session waits for its scope to be inactive before reading how it ended. */
const SETTLE_TIMEOUT_MS = 5_000;
const PROPERTIES = "org.freedesktop.DBus.Properties";
const UNIT = "org.freedesktop.systemd1.Unit";
const SCOPE = "org.freedesktop.systemd1.Scope";

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
    // Over MemoryMax the kernel kills every process of the session, not one of them: a session without its
    // page (or its runtime) is no session. systemd then records the scope's Result as "oom-kill".
    ["OOMPolicy", new Variant("s", "kill")],
    // Collected once inactive; a failed one stays until appd has read its Result and reset it (settle()).
    ["CollectMode", new Variant("s", "inactive")],
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

  /**
   * How the session's scope ended, once it is inactive (waited for, up to 5 s): systemd's Result, "success" or
   * "oom-kill" (the kernel killed the session for going over MemoryMax). A failed scope is reset here, so it does
   * not linger. undefined when systemd cannot say (the unit is gone).
   */
  async settle(unit: string): Promise<string | undefined> {
    const manager = { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER };
    let path: string;
    try {
      [path] = (await this.bus.call({ ...manager, member: "GetUnit", signature: "s", body: [unit] }, { timeoutMs: 2_000 })) as [string];
    } catch {
      return undefined;
    }
    const get = async (iface: string, property: string) =>
      ((await this.bus.call({ destination: SYSTEMD_NAME, path, interface: PROPERTIES, member: "Get", signature: "ss", body: [iface, property] }, { timeoutMs: 2_000 })) as [{ value: unknown }])[0].value;
    const ended = (state: unknown) => state === "inactive" || state === "failed";
    const inactive = Promise.withResolvers<void>();
    // Subscribed before the first read: a change between the read and the subscription is not missed.
    const changes = await this.bus.subscribeSignal({ sender: SYSTEMD_NAME, path, interface: PROPERTIES, member: "PropertiesChanged" }, (body) => {
      const [iface, changed] = body as [string, Record<string, { value: unknown }>];
      if (iface === UNIT && ended(changed.ActiveState?.value)) inactive.resolve();
    });
    try {
      if (!ended(await get(UNIT, "ActiveState"))) await Promise.race([inactive.promise, Bun.sleep(SETTLE_TIMEOUT_MS)]);
      const [state, result] = [await get(UNIT, "ActiveState"), (await get(SCOPE, "Result")) as string];
      if (state === "failed") await this.resetFailed(unit);
      return result;
    } catch {
      return undefined;
    } finally {
      await changes.close();
    }
  }

  async resetFailed(unit: string): Promise<void> {
    await this.bus
      .call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "ResetFailedUnit", signature: "s", body: [unit] }, { timeoutMs: 2_000 })
      .catch(() => undefined); // collected meanwhile
  }

  /** Resets the failed scopes of sessions an earlier appd could not settle (it was killed); returns their names. */
  async resetLeftovers(): Promise<string[]> {
    let units: [string, ...unknown[]][];
    try {
      [units] = (await this.bus.call(
        { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "ListUnitsByPatterns", signature: "asas", body: [["failed"], ["app-weft-*.scope"]] },
        { timeoutMs: 5_000 },
      )) as [[string, ...unknown[]][]];
    } catch {
      return [];
    }
    for (const [name] of units) await this.resetFailed(name);
    return units.map(([name]) => name);
  }

  /** Sends `signal` to every process of the unit (teardown, after the grace). */
  async killUnit(unit: string, signal: number): Promise<void> {
    await this.bus.call(
      { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER, member: "KillUnit", signature: "ssi", body: [unit, "all", signal] },
      { timeoutMs: 2_000 },
    );
  }
}
