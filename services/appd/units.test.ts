import { describe, expect, test } from "bun:test";
import { MAX_APP_ID_LENGTH } from "../../protocol/app-id.ts";
import { CPU_QUOTA_PER_SEC_USEC, MEMORY_MAX_BYTES, scopeProperties, sessionUnitName } from "./units.ts";

describe("transient scopes", () => {
  test("the unit name is app-weft-<app_id>-<session>.scope, valid for the longest app id and session id", () => {
    expect(sessionUnitName("org.weft.demo.counter", 7n)).toBe("app-weft-org.weft.demo.counter-7.scope");
    const longest = sessionUnitName(`org.weft.${"a".repeat(MAX_APP_ID_LENGTH - 9)}`, 18_446_744_073_709_551_615n);
    expect(longest.length).toBeLessThanOrEqual(255);
    expect(() => sessionUnitName("org.weft/../x", 1n)).toThrow("not a valid systemd unit name");
  });

  test("properties: app.slice, CPUQuota=200%, MemoryMax=512M, the runtime's pid, delegated so the app-shell can join", () => {
    const properties = Object.fromEntries(scopeProperties("org.weft.demo.counter", 7n, 4242).map(([k, v]) => [k, [v.signature, v.value]]));
    expect(properties.Slice).toEqual(["s", "app.slice"]);
    expect(properties.CPUQuotaPerSecUSec).toEqual(["t", 2_000_000n]);
    expect(properties.MemoryMax).toEqual(["t", 512n * 1024n * 1024n]);
    expect(properties.PIDs).toEqual(["au", [4242]]);
    // systemd 252 refuses AttachProcessesToUnit into a scope that is not delegated (found in the VM).
    expect(properties.Delegate).toEqual(["b", true]);
    // Over its memory the whole session goes, and its scope stays (failed, Result "oom-kill") until appd has read it.
    expect(properties.OOMPolicy).toEqual(["s", "kill"]);
    expect(properties.CollectMode).toEqual(["s", "inactive"]);
    expect(CPU_QUOTA_PER_SEC_USEC).toBe(2_000_000n);
    expect(MEMORY_MAX_BYTES).toBe(536_870_912n);
  });
});
