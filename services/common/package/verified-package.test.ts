import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, openSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, readSecretKey } from "./keys.ts";
import { signPackage } from "./signing.ts";
import { writeTestPackage } from "../../../testing/components.ts";
import { openVerifiedPackage, PackageLoadError, receiveVerifiedPackage } from "./verified-package.ts";
import { sealedContent } from "../os/sealed-content.ts";
import { encodePackageRecord } from "../../../protocol/package-record.ts";
import { assertAppId } from "../../../protocol/app-id.ts";

const root = mkdtempSync(join(tmpdir(), "weft-verified-package-"));
const store = join(root, "store");
const env = { HOME: join(root, "home"), WEFT_APP_STORE: store, WEFT_SYSCONFDIR: join(root, "etc") };
let secretKey: Uint8Array;

/** A package `id` in the store, signed with the trusted key unless `sign` is false. */
async function installed(id: string, options: { sign?: boolean; manifestId?: string } = {}): Promise<string> {
  const dir = join(store, id);
  await writeTestPackage(dir, { manifest: { package: { id: options.manifestId ?? id } }, files: { "ui/style.css": "p { color: red }" } });
  if (options.sign ?? true) await signPackage(dir, secretKey);
  return dir;
}

async function refusal(work: () => unknown): Promise<PackageLoadError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(PackageLoadError);
    return error as PackageLoadError;
  }
  throw new Error("expected a refusal");
}

beforeAll(async () => {
  const keys = await generateKeyPair(join(root, "keys"));
  secretKey = await readSecretKey(keys.secretKeyFile);
  mkdirSync(join(env.HOME, ".config/weft/trusted.d"), { recursive: true });
  copyFileSync(keys.publicKeyFile, join(env.HOME, ".config/weft/trusted.d/test.pub"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("a package opened for a session", () => {
  test("a signed, trusted package: its files are read as the signature covers them", async () => {
    const dir = await installed("org.weft.test.good");
    const pkg = await openVerifiedPackage(assertAppId("org.weft.test.good"), "run", env);
    expect(pkg.dir).toBe(dir);
    expect(pkg.manifest.package.id).toBe("org.weft.test.good");
    const { bytes, sha256 } = pkg.readSigned("ui/style.css", 1024);
    expect(new TextDecoder().decode(bytes)).toBe("p { color: red }");
    expect(sha256).toBe(pkg.signedFiles.find((f) => f.path === "ui/style.css")!.sha256);
  });

  test("not installed, unsigned, or naming another id: refused with the reason appd reports", async () => {
    expect((await refusal(() => openVerifiedPackage(assertAppId("org.weft.test.missing"), "run", env))).reason).toBe("not-installed");
    await installed("org.weft.test.unsigned", { sign: false });
    expect((await refusal(() => openVerifiedPackage(assertAppId("org.weft.test.unsigned"), "run", env))).reason).toBe("unsigned");
    await installed("org.weft.test.other", { manifestId: "org.weft.test.impostor" });
    const other = await refusal(() => openVerifiedPackage(assertAppId("org.weft.test.other"), "run", env));
    expect(other.reason).toBe("invalid-package");
    expect(other.message).toContain("declares package.id org.weft.test.impostor");
  });

  test("a file changed, replaced by a symlink or a FIFO, or removed after verification is never read", async () => {
    const dir = await installed("org.weft.test.swapped");
    const pkg = await openVerifiedPackage(assertAppId("org.weft.test.swapped"), "show", env);
    writeFileSync(join(dir, "ui/style.css"), "p { color: blue }");
    const changed = await refusal(() => pkg.readSigned("ui/style.css", 1024));
    expect([changed.reason, changed.message]).toEqual(["tampered", `${join(dir, "ui/style.css")} changed after the package was verified; refusing to show it`]);

    unlinkSync(join(dir, "ui/style.css"));
    symlinkSync("/etc/passwd", join(dir, "ui/style.css"));
    expect((await refusal(() => pkg.readSigned("ui/style.css", 1024))).message).toContain("is a symbolic link now");

    unlinkSync(join(dir, "ui/style.css"));
    expect(Bun.spawnSync(["mkfifo", join(dir, "ui/style.css")]).exitCode).toBe(0);
    expect((await refusal(() => pkg.readSigned("ui/style.css", 1024))).message).toContain("is not a regular file"); // and did not block

    unlinkSync(join(dir, "ui/style.css"));
    expect((await refusal(() => pkg.readSigned("ui/style.css", 1024))).message).toContain("is gone since the package was verified");
  });

  test("a path the signature does not cover, or a file over the limit, is refused", async () => {
    const dir = await installed("org.weft.test.limits");
    const pkg = await openVerifiedPackage(assertAppId("org.weft.test.limits"), "run", env);
    writeFileSync(join(dir, "extra.txt"), "not signed");
    expect((await refusal(() => pkg.readSigned("extra.txt", 1024))).message).toContain("is not among the signed files");
    expect((await refusal(() => pkg.readSigned("../../etc/passwd", 1024))).reason).toBe("invalid-package");
    expect((await refusal(() => pkg.readSigned("ui/style.css", 4))).message).toContain("is larger than 4 bytes");
  });

  test("handed over as a record, the package reads the same files, and is refused when they changed", async () => {
    const dir = await installed("org.weft.test.handed");
    const verified = await openVerifiedPackage(assertAppId("org.weft.test.handed"), "run", env);
    const handed = receiveVerifiedPackage(sealedContent("record", encodePackageRecord(verified.record)), assertAppId("org.weft.test.handed"), "show");
    expect([handed.dir, handed.signerKey, handed.manifest]).toEqual([dir, verified.signerKey, verified.manifest]);
    expect(new TextDecoder().decode(handed.readSigned("ui/style.css", 1024).bytes)).toBe("p { color: red }");

    writeFileSync(join(dir, "wapp.toml"), (await Bun.file(join(dir, "wapp.toml")).text()) + "\n# changed\n");
    const record = sealedContent("record", encodePackageRecord(verified.record));
    const changed = await refusal(() => receiveVerifiedPackage(record, assertAppId("org.weft.test.handed"), "show"));
    expect([changed.reason, changed.message]).toEqual(["tampered", `${join(dir, "wapp.toml")} changed after the package was verified; refusing to show it`]);
  });

  test("a record about another app, or not sealed, is refused as invalid", async () => {
    await installed("org.weft.test.mine");
    const { record } = await openVerifiedPackage(assertAppId("org.weft.test.mine"), "run", env);
    const other = await refusal(() => receiveVerifiedPackage(sealedContent("record", encodePackageRecord(record)), assertAppId("org.weft.test.yours"), "run"));
    expect([other.reason, other.message]).toEqual(["invalid-package", expect.stringContaining("is about org.weft.test.mine, not org.weft.test.yours")]);
    const plain = openSync("/dev/null", "r");
    expect((await refusal(() => receiveVerifiedPackage(plain, assertAppId("org.weft.test.mine"), "run"))).message).toContain("sealed");
  });
});
