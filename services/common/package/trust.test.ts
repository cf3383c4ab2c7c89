import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "./keys.ts";
import { loadTrustStore, TrustStore } from "./trust.ts";

let work: string;
let env: Record<string, string>;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "weft-trust-"));
  env = { XDG_CONFIG_HOME: join(work, "config"), WEFT_SYSCONFDIR: join(work, "etc") };
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

async function newKeyHex(): Promise<string> {
  const dir = mkdtempSync(join(work, "key-"));
  return (await generateKeyPair(dir)).publicKeyHex;
}

function place(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

describe("loadTrustStore", () => {
  test("missing directories are an empty store without warnings", async () => {
    const store = await loadTrustStore(env);
    expect(store.trusted).toEqual([]);
    expect(store.revoked).toEqual([]);
    expect(store.warnings).toEqual([]);
    expect(store.userTrustedDir()).toBe(join(work, "config/weft/trusted.d"));
  });

  test("reads *.pub from the user's and the system's directories, user first", async () => {
    const userKey = await newKeyHex();
    const systemKey = await newKeyHex();
    place(join(work, "config/weft/trusted.d"), "alice.pub", `${userKey}\n`);
    place(join(work, "etc/trusted.d"), "vendor.pub", systemKey.toUpperCase());
    place(join(work, "etc/trusted.d"), "README", "not a key, ignored");
    const store = await loadTrustStore(env);
    expect(store.trusted.map((k) => k.publicKeyHex)).toEqual([userKey, systemKey]);
    expect(store.trusted[1]!.file).toBe(join(work, "etc/trusted.d/vendor.pub"));
    expect(store.isTrusted(systemKey)).toBe(true);
    expect(store.warnings).toEqual([]);
  });

  test("malformed, oversized, FIFO and directory key files are warnings and skipped, never fatal", async () => {
    const good = await newKeyHex();
    const dir = join(work, "config/weft/trusted.d");
    place(dir, "good.pub", good);
    place(dir, "short.pub", "abcd");
    place(dir, "notpoint.pub", "02" + "00".repeat(31));
    place(dir, "huge.pub", "0".repeat(1 << 20));
    mkdirSync(join(dir, "dir.pub"));
    expect(spawnSync("mkfifo", [join(dir, "fifo.pub")]).status).toBe(0);
    const store = await loadTrustStore(env);
    expect(store.trusted.map((k) => k.publicKeyHex)).toEqual([good]);
    expect(store.warnings).toHaveLength(5);
    for (const name of ["short.pub", "notpoint.pub", "huge.pub", "dir.pub", "fifo.pub"]) {
      expect(store.warnings.some((w) => w.includes(join(dir, name)) && w.endsWith("key skipped"))).toBe(true);
    }
  });

  test("a store path that is a file, not a directory, is a warning", async () => {
    mkdirSync(join(work, "etc"), { recursive: true });
    writeFileSync(join(work, "etc/revoked.d"), "oops");
    const store = await loadTrustStore(env);
    expect(store.warnings).toEqual([`${join(work, "etc/revoked.d")}: cannot list trust store directory (ENOTDIR)`]);
  });

  test("revocation wins over trust, wherever either is listed", async () => {
    const key = await newKeyHex();
    const other = await newKeyHex();
    place(join(work, "config/weft/trusted.d"), "k.pub", key);
    place(join(work, "config/weft/trusted.d"), "o.pub", other);
    place(join(work, "etc/trusted.d"), "o-again.pub", other);
    place(join(work, "etc/revoked.d"), "k.pub", key);
    const store = await loadTrustStore(env);
    expect(store.isRevoked(key)).toBe(true);
    expect(store.isTrusted(key)).toBe(false);
    expect(store.trustOf(key)).toBeUndefined();
    expect(store.revocationOf(Buffer.from(key, "hex"))!.file).toBe(join(work, "etc/revoked.d/k.pub"));
    expect(store.effectiveTrustedKeys().map((k) => k.publicKeyHex)).toEqual([other]);
  });

  test("an empty store trusts nothing", () => {
    const store = TrustStore.empty();
    expect(store.isTrusted("00".repeat(32))).toBe(false);
    expect(store.effectiveTrustedKeys()).toEqual([]);
  });
});
