/**
 * weft-pack end to end: every subcommand through the real CLI process, with real components (built by jco),
 * real key files, a private trust store and store, and Debian's mkfs.erofs and veritysetup.
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildComponent, buildCoreModule, writeTestPackage } from "../../testing/components.ts";
import { PackWorld } from "../../testing/pack.ts";

// Installs run the runtime's precompiler as a process of its own: on a busy 2-core machine one test takes seconds.
setDefaultTimeout(30_000);

let world: PackWorld;
let key: string; // secret key file
let pub: string; // public key file

const ID = "org.weft.test.app";

beforeAll(async () => {
  world = new PackWorld();
  const made = await world.pack(["generate-key", world.path("keys")]);
  expect(made.code).toBe(0);
  key = world.path("keys/weft-sign.key");
  pub = world.path("keys/weft-sign.pub");
});
afterAll(() => world.close());

/** A fresh, valid package in the world, signed with the world's key unless told otherwise. */
async function signedPackage(name: string, options: Parameters<typeof writeTestPackage>[1] = {}, sign = true): Promise<string> {
  const dir = await writeTestPackage(world.path("src", name), options);
  if (sign) expect((await world.pack(["sign", dir, "--key", key])).code).toBe(0);
  return dir;
}

function trustWorldKey(): void {
  mkdirSync(world.trusted, { recursive: true });
  copyFileSync(pub, join(world.trusted, "test.pub"));
}

function storeListing(): string[] {
  return existsSync(world.store) ? readdirSync(world.store).sort() : [];
}

describe("help and usage", () => {
  test("--help lists every subcommand and exits 0", async () => {
    const run = await world.pack(["--help"]);
    expect(run.code).toBe(0);
    for (const name of ["check", "info", "generate-key", "sign", "verify", "install", "uninstall", "list", "bundle", "unbundle", "build-image"]) {
      expect(run.stdout).toContain(`  ${name}`);
    }
  });

  test.each(["check", "info", "generate-key", "sign", "verify", "install", "uninstall", "list", "bundle", "unbundle", "build-image"])(
    "%s --help shows its usage and exit codes",
    async (name) => {
      const run = await world.pack([name, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toStartWith(`usage: weft-pack ${name}`);
      expect(run.stdout).toContain("exit codes:");
    },
  );

  test("no command, an unknown command, an unknown option and a missing argument are usage errors (2)", async () => {
    expect((await world.pack([])).code).toBe(2);
    const unknown = await world.pack(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const option = await world.pack(["list", "--bogus"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("--bogus");
    const missing = await world.pack(["check", "--json"]);
    expect(missing.code).toBe(2);
    expect(missing.json.error.code).toBe("usage");
  });
});

describe("check", () => {
  test("a valid package prints OK", async () => {
    const dir = await signedPackage("check-ok", {}, false);
    const run = await world.pack(["check", dir]);
    expect(run.stdout.trim()).toBe("OK");
    expect(run.code).toBe(0);
  });

  test("reports every manifest error at once, each naming its field (--json)", async () => {
    const dir = await signedPackage(
      "check-bad",
      { manifest: { package: { id: "Org.Weft..App", version: "1.0", name: "" }, runtime: { module: "../app.wasm" } } },
      false,
    );
    const run = await world.pack(["check", dir, "--json"]);
    expect(run.code).toBe(1);
    const fields = run.json.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(["package.id", "package.version", "package.name", "runtime.module"]));
  });

  test("malformed TOML is an error that says where", async () => {
    const dir = await signedPackage("check-toml", { manifest: "[package\nid = 'x'" }, false);
    const run = await world.pack(["check", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/wapp\.toml|line/i);
  });

  test("a core module instead of a component is refused", async () => {
    const dir = await signedPackage("check-core", { component: await buildCoreModule() }, false);
    const run = await world.pack(["check", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("core WebAssembly module, not a component");
  });

  test("importing weft:app/fetch without a net:fetch capability names both", async () => {
    const component = await buildComponent({ imports: ["weft:app/fetch@0.1.0"] });
    const dir = await signedPackage("check-fetch", { component }, false);
    const run = await world.pack(["check", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("weft:app/fetch");
    expect(run.stderr).toContain("net:fetch");
  });

  test("a module symlink leading out of the package is refused", async () => {
    const dir = await signedPackage("check-link", { component: null }, false);
    writeFileSync(world.path("outside.wasm"), await buildComponent());
    symlinkSync(world.path("outside.wasm"), join(dir, "app.wasm"));
    const run = await world.pack(["check", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("runtime.module");
  });

  test("a symlink inside ui/ fails check, as it fails sign and install", async () => {
    const dir = await signedPackage("check-ui-link", {}, false);
    mkdirSync(join(dir, "ui"), { recursive: true });
    symlinkSync("/etc/passwd", join(dir, "ui/passwd"));
    const run = await world.pack(["check", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"ui/passwd" is a symlink');
  });

  test("a path that is not a directory is rejected (1), not a crash", async () => {
    const run = await world.pack(["check", world.path("nope"), "--json"]);
    expect(run.code).toBe(1);
    expect(run.json.error.code).toBe("not-a-directory");
  });
});

describe("info", () => {
  test("prints the manifest and what each capability grants", async () => {
    const dir = await signedPackage("info", {
      manifest: { package: { capabilities: ["fs:rw:app-data"], description: "a test", author: "me" } },
    }, false);
    const run = await world.pack(["info", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`id:      ${ID}`);
    expect(run.stdout).toContain("version: 0.1.0");
    expect(run.stdout).toContain("desc:    a test");
    expect(run.stdout).toMatch(/cap: +fs:rw:app-data +\(.+\)/);
    const json = await world.pack(["info", dir, "--json"]);
    expect(json.json.capabilities[0].name).toBe("fs:rw:app-data");
  });
});

describe("generate-key", () => {
  test("writes a 0600 secret seed and a public key, and never overwrites", async () => {
    const dir = world.path("genkey");
    const run = await world.pack(["generate-key", dir]);
    expect(run.code).toBe(0);
    expect(statSync(join(dir, "weft-sign.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "weft-sign.key"), "utf8")).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, "weft-sign.pub"), "utf8")).toMatch(/^[0-9a-f]{64}$/);
    const before = readFileSync(join(dir, "weft-sign.key"));
    const again = await world.pack(["generate-key", dir]);
    expect(again.code).toBe(1);
    expect(readFileSync(join(dir, "weft-sign.key"))).toEqual(before);
  });
});

describe("sign and verify", () => {
  test("sign then verify with the key prints OK; a changed file makes it INVALID", async () => {
    const dir = await signedPackage("sv");
    expect(readFileSync(join(dir, "signature.sig"), "utf8")).toMatch(/^[0-9a-f]{128}$/);
    const ok = await world.pack(["verify", dir, "--key", pub]);
    expect(ok.stdout.trim()).toBe("OK");
    expect(ok.code).toBe(0);
    appendFileSync(join(dir, "ui/index.html"), "<script>evil()</script>");
    const bad = await world.pack(["verify", dir, "--key", pub]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("INVALID");
  });

  test("verify against the trust store names unsigned, untrusted, tampered, malformed and revoked", async () => {
    const unsigned = await signedPackage("tv-unsigned", {}, false);
    expect((await world.pack(["verify", unsigned, "--json"])).json.error.code).toBe("unsigned");

    const signed = await signedPackage("tv-signed");
    expect((await world.pack(["verify", signed, "--json"])).json.error.code).toBe("untrusted");

    trustWorldKey();
    const trusted = await world.pack(["verify", signed]);
    expect(trusted.code).toBe(0);

    const tampered = await signedPackage("tv-tampered");
    writeFileSync(join(tampered, "extra.txt"), "added after signing");
    expect((await world.pack(["verify", tampered, "--json"])).json.error.code).toBe("tampered");

    const truncated = await signedPackage("tv-truncated");
    const sig = readFileSync(join(truncated, "signature.sig"), "utf8");
    writeFileSync(join(truncated, "signature.sig"), sig.slice(0, 100));
    expect((await world.pack(["verify", truncated, "--json"])).json.error.code).toBe("malformed");
  });

  test("sign refuses an invalid package and a malformed key file", async () => {
    const invalid = await signedPackage("sign-invalid", { manifest: { package: { id: "../evil" } } }, false);
    const run = await world.pack(["sign", invalid, "--key", key]);
    expect(run.code).toBe(1);
    expect(existsSync(join(invalid, "signature.sig"))).toBe(false);

    const dir = await signedPackage("sign-badkey", {}, false);
    writeFileSync(world.path("short.key"), "abcd");
    const bad = await world.pack(["sign", dir, "--key", world.path("short.key")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("short.key");
    expect(existsSync(join(dir, "signature.sig"))).toBe(false);
    expect((await world.pack(["sign", dir])).code).toBe(2);
  });
});

describe("install, list, uninstall", () => {
  test("an untrusted package is refused and the store is left as it was", async () => {
    const other = world.path("otherkey");
    await world.pack(["generate-key", other]);
    const dir = await writeTestPackage(world.path("src/untrusted"), { manifest: { package: { id: "org.weft.test.untrusted" } } });
    expect((await world.pack(["sign", dir, "--key", join(other, "weft-sign.key")])).code).toBe(0);
    const before = storeListing();
    const run = await world.pack(["install", dir, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json.error.code).toBe("untrusted");
    expect(storeListing().filter((n) => !n.startsWith(".weft-lock"))).toEqual(before.filter((n) => !n.startsWith(".weft-lock")));
  });

  test("install shows capabilities, list shows the package, the installed copy verifies", async () => {
    trustWorldKey();
    const dir = await signedPackage("inst", {
      manifest: { package: { id: "org.weft.test.notes", name: "Notes", capabilities: ["fs:rw:app-data"] } },
    });
    const run = await world.pack(["install", dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`installed org.weft.test.notes 0.1.0 -> ${join(world.store, "org.weft.test.notes")}`);
    expect(run.stdout).toContain("capabilities granted:");
    expect(run.stdout).toContain("fs:rw:app-data");
    expect(run.stdout).toMatch(/compiled for this Wasmtime in \d+ ms/);
    expect(readdirSync(join(world.home, ".cache/weft/components")).filter((f) => f.endsWith(".cwasm"))).toHaveLength(1);
    const list = await world.pack(["list"]);
    expect(list.stdout).toContain("org.weft.test.notes  Notes  0.1.0");
    expect((await world.pack(["verify", join(world.store, "org.weft.test.notes")])).code).toBe(0);
    expect(readdirSync(world.store).filter((n) => n.startsWith(".weft-staging-"))).toEqual([]);
  });

  test("an upgrade asking for new capabilities needs --accept-capabilities; a downgrade needs --allow-downgrade", async () => {
    trustWorldKey();
    const id = "org.weft.test.upgrade";
    const v1 = await signedPackage("up1", { manifest: { package: { id, version: "1.0.0" } } });
    expect((await world.pack(["install", v1])).code).toBe(0);

    const v2 = await signedPackage("up2", {
      manifest: { package: { id, version: "1.1.0", capabilities: ["sys:notifications"] } },
      component: await buildComponent({ imports: ["weft:app/notifications@0.1.0"] }),
    });
    const refused = await world.pack(["install", v2, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe("new-capabilities");
    expect(refused.json.error.message).toContain("sys:notifications");
    expect((await world.pack(["list", "--json"])).json.packages.find((p: { id: string }) => p.id === id).version).toBe("1.0.0");

    const accepted = await world.pack(["install", v2, "--accept-capabilities"]);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("(was 1.0.0)");
    expect(accepted.stdout).toContain("[new]");
    expect(readFileSync(join(world.store, id, "wapp.toml"), "utf8")).toContain("1.1.0");

    const down = await world.pack(["install", v1, "--json"]);
    expect(down.json.error.code).toBe("downgrade");
    expect((await world.pack(["install", v1, "--allow-downgrade"])).code).toBe(0);
    expect(readFileSync(join(world.store, id, "wapp.toml"), "utf8")).toContain("1.0.0");
  });

  test("--allow-untrusted installs an unsigned package and says so loudly", async () => {
    const dir = await signedPackage("dev", { manifest: { package: { id: "org.weft.test.dev" } } }, false);
    expect((await world.pack(["install", dir])).code).toBe(1);
    const run = await world.pack(["install", dir, "--allow-untrusted"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("--allow-untrusted");
    expect(run.stderr).toContain("unsigned");
  });

  test("a revoked key is refused, even with --allow-untrusted", async () => {
    const revokedKey = world.path("revkey");
    await world.pack(["generate-key", revokedKey]);
    const dir = await writeTestPackage(world.path("src/revoked"), { manifest: { package: { id: "org.weft.test.revoked" } } });
    await world.pack(["sign", dir, "--key", join(revokedKey, "weft-sign.key")]);
    mkdirSync(world.trusted, { recursive: true });
    mkdirSync(world.revoked, { recursive: true });
    copyFileSync(join(revokedKey, "weft-sign.pub"), join(world.trusted, "rev.pub"));
    copyFileSync(join(revokedKey, "weft-sign.pub"), join(world.revoked, "rev.pub"));
    for (const extra of [[], ["--allow-untrusted"]]) {
      const run = await world.pack(["install", dir, "--json", ...extra]);
      expect(run.code).toBe(1);
      expect(run.json.error.code).toBe("revoked");
    }
    expect(existsSync(join(world.store, "org.weft.test.revoked"))).toBe(false);
  });

  test("a package holding a symlink is refused and nothing is installed", async () => {
    trustWorldKey();
    const dir = await signedPackage("symlink", { manifest: { package: { id: "org.weft.test.symlink" } } }, false);
    symlinkSync("/etc/passwd", join(dir, "ui/passwd"));
    const run = await world.pack(["install", dir, "--allow-untrusted"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("passwd");
    expect(existsSync(join(world.store, "org.weft.test.symlink"))).toBe(false);
  });

  test("leftovers of an interrupted install are removed by the next install", async () => {
    trustWorldKey();
    mkdirSync(join(world.store, ".weft-staging-crashed/package"), { recursive: true });
    const dir = await signedPackage("after-crash", { manifest: { package: { id: "org.weft.test.aftercrash" } } });
    expect((await world.pack(["install", dir])).code).toBe(0);
    expect(existsSync(join(world.store, ".weft-staging-crashed"))).toBe(false);
  });

  test("an install killed at any moment leaves the old version or the new one, complete", async () => {
    trustWorldKey();
    const id = "org.weft.test.interrupted";
    const big = new Uint8Array(24 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const v1 = await signedPackage("int1", { manifest: { package: { id, version: "1.0.0" } }, files: { "data/blob.bin": big } });
    const v2 = await signedPackage("int2", { manifest: { package: { id, version: "2.0.0" } }, files: { "data/blob.bin": big.reverse() } });
    expect((await world.pack(["install", v1])).code).toBe(0);
    const seen = new Set<string>();
    // Kill times spread over a whole install (≈ 1 s here): early in staging, during the check, around the rename.
    for (let attempt = 0; attempt < 10; attempt++) {
      const child = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts"), "install", attempt % 2 === 0 ? v2 : v1, "--allow-downgrade"], {
        env: world.env,
        stdout: "ignore",
        stderr: "ignore",
      });
      await Bun.sleep(40 + attempt * 110);
      child.kill("SIGKILL");
      await child.exited;
      const listed = await world.pack(["list", "--json"]);
      const entry = listed.json.packages.find((p: { id: string }) => p.id === id);
      expect(entry).toBeDefined();
      seen.add(entry.version);
      const verified = await world.pack(["verify", join(world.store, id), "--json"]);
      expect(verified.json.ok).toBe(true);
    }
    expect([...seen].every((v) => v === "1.0.0" || v === "2.0.0")).toBe(true);
    expect((await world.pack(["install", v2, "--json"])).json.ok).toBe(true);
    expect(readdirSync(world.store).filter((n) => n.startsWith(".weft-staging-"))).toEqual([]);
  }, 60_000); // ten installs killed at spread-out moments: its sleeps alone pass bun's default 5 s

  test("uninstall removes the package; unknown and malformed ids are refused with nothing changed", async () => {
    trustWorldKey();
    const dir = await signedPackage("uninst", { manifest: { package: { id: "org.weft.test.gone" } } });
    expect((await world.pack(["install", dir])).code).toBe(0);
    const run = await world.pack(["uninstall", "org.weft.test.gone"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("uninstalled org.weft.test.gone");
    expect(existsSync(join(world.store, "org.weft.test.gone"))).toBe(false);
    const before = storeListing();
    expect((await world.pack(["uninstall", "org.weft.test.gone", "--json"])).json.error.code).toBe("not-installed");
    for (const hostile of ["../../etc", "org.weft.test/../../x", "Org.Weft.Test", ".."]) {
      const bad = await world.pack(["uninstall", hostile, "--json"]);
      expect(bad.code).toBe(1);
      expect(bad.json.error.code).toBe("invalid-app-id");
    }
    expect(storeListing()).toEqual(before);
  });

  test("list with an empty store says so", async () => {
    const run = await world.pack(["list"], { env: { WEFT_APP_STORE: world.path("empty-store") } });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("no packages installed");
  });

  test("install without HOME or WEFT_APP_STORE is an environment error (3)", async () => {
    const dir = await signedPackage("nohome", {}, false);
    const run = await world.pack(["install", dir], { env: { HOME: undefined } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("WEFT_APP_STORE");
  });
});

describe("bundle and unbundle", () => {
  test("bundle → unbundle → install round trip keeps the signature valid", async () => {
    trustWorldKey();
    const dir = await signedPackage("bundle", { manifest: { package: { id: "org.weft.test.bundled" } } });
    const out = world.path("bundles");
    mkdirSync(out, { recursive: true });
    const run = await world.pack(["bundle", dir, "--out", out]);
    expect(run.code).toBe(0);
    const archive = join(out, "org.weft.test.bundled.app.tar.zst");
    expect(run.stdout.trim()).toBe(`bundled: ${archive}`);

    const extracted = world.path("unbundled");
    mkdirSync(extracted);
    const un = await world.pack(["unbundle", archive, "--out", extracted]);
    expect(un.code).toBe(0);
    expect((await world.pack(["verify", join(extracted, "org.weft.test.bundled"), "--key", pub])).code).toBe(0);

    const installed = await world.pack(["install", archive]);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain("installed org.weft.test.bundled");
  });

  test("bundling twice gives identical bytes", async () => {
    const dir = await signedPackage("repro", { manifest: { package: { id: "org.weft.test.repro" } } });
    for (const out of ["r1", "r2"]) {
      mkdirSync(world.path(out));
      expect((await world.pack(["bundle", dir, "--out", world.path(out)])).code).toBe(0);
    }
    const name = "org.weft.test.repro.app.tar.zst";
    expect(readFileSync(world.path("r1", name))).toEqual(readFileSync(world.path("r2", name)));
  });

  test("unbundle of a corrupt archive fails and writes nothing", async () => {
    const target = world.path("corrupt-target");
    mkdirSync(target);
    writeFileSync(world.path("corrupt.app.tar.zst"), Buffer.from("not zstd at all"));
    const run = await world.pack(["unbundle", world.path("corrupt.app.tar.zst"), "--out", target]);
    expect(run.code).toBe(1);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe("build-image", () => {
  test("builds the four files, verifies, and is reproducible", async () => {
    trustWorldKey();
    const dir = await signedPackage("image", { manifest: { package: { id: "org.weft.test.image" } } });
    const out = world.path("img1");
    mkdirSync(out);
    const run = await world.pack(["build-image", dir, "--key", key, "--out", out, "--json"]);
    expect(run.code).toBe(0);
    const stem = join(out, "org.weft.test.image.app");
    for (const ext of ["img", "hash", "roothash", "sig"]) expect(existsSync(`${stem}.${ext}`)).toBe(true);
    expect(readFileSync(`${stem}.roothash`, "utf8")).toBe(run.json.rootHash);
    expect(run.json.rootHash).toMatch(/^[0-9a-f]{64}$/);

    expect((await world.pack(["verify", `${stem}.img`])).code).toBe(0);
    expect((await world.pack(["verify", `${stem}.img`, "--key", pub])).code).toBe(0);

    const out2 = world.path("img2");
    mkdirSync(out2);
    const again = await world.pack(["build-image", dir, "--key", key, "--out", out2, "--json"]);
    expect(again.json.rootHash).toBe(run.json.rootHash);

    const exists = await world.pack(["build-image", dir, "--key", key, "--out", out, "--json"]);
    expect(exists.code).toBe(1);
    expect(exists.json.error.code).toBe("exists");
  });

  test("a changed root hash or a changed image block fails verification", async () => {
    const dir = await signedPackage("image-tamper", { manifest: { package: { id: "org.weft.test.imgtamper" } } });
    const out = world.path("imgt");
    mkdirSync(out);
    expect((await world.pack(["build-image", dir, "--key", key, "--out", out])).code).toBe(0);
    const stem = join(out, "org.weft.test.imgtamper.app");

    const copy = world.path("imgt-roothash");
    cpSync(out, copy, { recursive: true });
    const rh = readFileSync(join(copy, "org.weft.test.imgtamper.app.roothash"), "utf8");
    writeFileSync(join(copy, "org.weft.test.imgtamper.app.roothash"), (rh[0] === "0" ? "1" : "0") + rh.slice(1));
    const badSig = await world.pack(["verify", join(copy, "org.weft.test.imgtamper.app.img"), "--key", pub, "--json"]);
    expect(badSig.code).toBe(1);
    expect(badSig.json.error.code).toBe("bad-signature");

    const image = readFileSync(`${stem}.img`);
    image[image.length - 100] = image[image.length - 100]! ^ 0xff;
    writeFileSync(`${stem}.img`, image);
    chmodSync(`${stem}.img`, 0o644);
    const badImage = await world.pack(["verify", `${stem}.img`, "--key", pub, "--json"]);
    expect(badImage.code).toBe(1);
    expect(badImage.json.error.code).toBe("bad-image");
  });

  test("refuses an unsigned package, or one signed with another key, and needs --key", async () => {
    const dir = await signedPackage("image-unsigned", {}, false);
    expect((await world.pack(["build-image", dir])).code).toBe(2);
    const run = await world.pack(["build-image", dir, "--key", key, "--out", world.root, "--json"]);
    expect(run.code).toBe(1);
    expect(run.json.error.code).toBe("unsigned");
    expect(existsSync(world.path("org.weft.test.app.app.img"))).toBe(false);
  });
});
