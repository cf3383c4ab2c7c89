import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, publicKeyOf, readPublicKey, readSecretKey, toHex } from "./keys.ts";
import { PackageContentError } from "./package-files.ts";
import { packageDigest, signPackage, verifyPackage, type VerifyOutcome } from "./signing.ts";
import { loadTrustStoreFromDirs, TrustStore } from "./trust.ts";

let work: string;
let pkg: string;
let secretKey: Uint8Array;
let publicKey: Uint8Array;
let keyFiles: { secretKeyFile: string; publicKeyFile: string; publicKeyHex: string };

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), "weft-signing-"));
  pkg = join(work, "pkg");
  mkdirSync(join(pkg, "ui"), { recursive: true });
  writeFileSync(join(pkg, "wapp.toml"), '[package]\nid = "org.example.app"\n');
  writeFileSync(join(pkg, "app.wasm"), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(pkg, "ui/index.html"), "<p>hi</p>\n");
  keyFiles = await generateKeyPair(join(work, "keys"));
  secretKey = await readSecretKey(keyFiles.secretKeyFile);
  publicKey = await readPublicKey(keyFiles.publicKeyFile);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function sh(script: string, cwd: string): string {
  const result = spawnSync("bash", ["-c", script], { cwd, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (result.status !== 0) throw new Error(`${script}: ${result.stderr}`);
  return result.stdout;
}

/** A store with the given key files placed in trusted.d / revoked.d under `work`. */
async function storeWith(trusted: string[], revoked: string[]): Promise<TrustStore> {
  const trustedDir = join(work, "store/trusted.d");
  const revokedDir = join(work, "store/revoked.d");
  mkdirSync(trustedDir, { recursive: true });
  mkdirSync(revokedDir, { recursive: true });
  trusted.forEach((hex, i) => writeFileSync(join(trustedDir, `t${i}.pub`), hex));
  revoked.forEach((hex, i) => writeFileSync(join(revokedDir, `r${i}.pub`), hex));
  return loadTrustStoreFromDirs({ trusted: [trustedDir], revoked: [revokedDir] });
}

function statusOf(outcome: VerifyOutcome): string {
  return outcome.status;
}

function messageOf(outcome: VerifyOutcome): string {
  return outcome.status === "trusted" ? "" : outcome.message;
}

describe("SPEC 3.3 digest", () => {
  test("matches an independent computation with find | sort | sha256sum, including byte-wise order of non-ASCII names", async () => {
    // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) byte-wise, but after it in UTF-16 (D83D…).
    writeFileSync(join(pkg, "\u{ff5e}.txt"), "fullwidth tilde");
    writeFileSync(join(pkg, "\u{1f600}.txt"), "grin");
    writeFileSync(join(pkg, "a-b"), "dash");
    writeFileSync(join(pkg, "a.txt"), "dot");
    mkdirSync(join(pkg, "a"));
    writeFileSync(join(pkg, "a/b"), "slash");
    mkdirSync(join(pkg, "empty"));
    mkdirSync(join(pkg, "nested"));
    writeFileSync(join(pkg, "nested/signature.sig"), "only the top-level one is skipped");
    writeFileSync(join(pkg, "signature.sig"), "skipped");
    writeFileSync(join(pkg, ".hidden"), "");

    const listing =
      `find . -type f ! -path ./signature.sig | sed 's|^\\./||' | sort | while IFS= read -r f; do ` +
      `printf '%s\\t%s\\n' "$f" "$(sha256sum < "$f" | cut -d' ' -f1)"; done`;
    const expectedText = sh(listing, pkg);
    const expectedDigest = sh(`(${listing}) | sha256sum | cut -d' ' -f1`, pkg).trim();
    const computed = await packageDigest(pkg);
    expect(computed.text).toBe(expectedText);
    expect(toHex(computed.digest)).toBe(expectedDigest);
    const paths = computed.files.map((f) => f.path);
    expect(paths.indexOf("\u{ff5e}.txt")).toBeLessThan(paths.indexOf("\u{1f600}.txt"));
    expect(paths.filter((p) => p.startsWith("a"))).toEqual(["a-b", "a.txt", "a/b", "app.wasm"]);
    expect(paths).toContain("nested/signature.sig");
    expect(paths).not.toContain("signature.sig");
  });

  test("a large file is streamed and hashed like sha256sum does", async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    writeFileSync(join(pkg, "big.bin"), big);
    const computed = await packageDigest(pkg);
    const expected = sh("sha256sum big.bin | cut -d' ' -f1", pkg).trim();
    expect(computed.files.find((f) => f.path === "big.bin")!.sha256).toBe(expected);
  });
});

describe("cross-check with openssl", () => {
  const SPKI_PREFIX = "302a300506032b6570032100";
  const PKCS8_PREFIX = "302e020100300506032b657004220420";

  test("openssl verifies our signature over the digest", async () => {
    const { digest } = await signPackage(pkg, secretKey);
    writeFileSync(join(work, "digest.bin"), digest);
    writeFileSync(join(work, "sig.bin"), Buffer.from(readFileSync(join(pkg, "signature.sig"), "utf8"), "hex"));
    writeFileSync(join(work, "pub.der"), Buffer.from(SPKI_PREFIX + toHex(publicKey), "hex"));
    const ok = spawnSync(
      "openssl",
      ["pkeyutl", "-verify", "-pubin", "-inkey", "pub.der", "-keyform", "DER", "-rawin", "-in", "digest.bin", "-sigfile", "sig.bin"],
      { cwd: work, encoding: "utf8" },
    );
    expect(ok.stdout).toContain("Signature Verified Successfully");
    expect(ok.status).toBe(0);

    writeFileSync(join(work, "digest.bin"), digest.map((b, i) => (i === 0 ? b ^ 1 : b)));
    const bad = spawnSync(
      "openssl",
      ["pkeyutl", "-verify", "-pubin", "-inkey", "pub.der", "-keyform", "DER", "-rawin", "-in", "digest.bin", "-sigfile", "sig.bin"],
      { cwd: work, encoding: "utf8" },
    );
    expect(bad.status).not.toBe(0);
  });

  test("we verify a signature made by openssl from the same seed", async () => {
    writeFileSync(join(pkg, "signer.pub"), toHex(publicKey));
    const { digest } = await packageDigest(pkg);
    writeFileSync(join(work, "digest.bin"), digest);
    writeFileSync(join(work, "key.der"), Buffer.from(PKCS8_PREFIX + toHex(secretKey), "hex"));
    const signed = spawnSync(
      "openssl",
      ["pkeyutl", "-sign", "-inkey", "key.der", "-keyform", "DER", "-rawin", "-in", "digest.bin", "-out", "sig.bin"],
      { cwd: work, encoding: "utf8" },
    );
    expect(signed.status).toBe(0);
    writeFileSync(join(pkg, "signature.sig"), readFileSync(join(work, "sig.bin")).toString("hex"));
    const outcome = await verifyPackage(pkg, { publicKey, keyFile: keyFiles.publicKeyFile });
    expect(outcome).toEqual({
      status: "trusted",
      signer: { publicKeyHex: keyFiles.publicKeyHex, file: keyFiles.publicKeyFile },
      files: (await packageDigest(pkg)).files,
    });
  });
});

describe("sign and verify against a trust store", () => {
  test("sign writes signer.pub (covered by the signature) and a 128-character signature without newline", async () => {
    const result = await signPackage(pkg, secretKey);
    expect(readFileSync(join(pkg, "signer.pub"), "utf8")).toBe(keyFiles.publicKeyHex);
    expect(readFileSync(join(pkg, "signature.sig"), "utf8")).toMatch(/^[0-9a-f]{128}$/);
    const { text } = await packageDigest(pkg);
    expect(text).toContain(`signer.pub\t`);
    expect(result.publicKeyHex).toBe(keyFiles.publicKeyHex);
  });

  test("trusted key → trusted, naming the trust-store file", async () => {
    await signPackage(pkg, secretKey);
    const store = await storeWith([keyFiles.publicKeyHex], []);
    const outcome = await verifyPackage(pkg, { trustStore: store });
    expect(outcome).toEqual({
      status: "trusted",
      signer: { publicKeyHex: keyFiles.publicKeyHex, file: join(work, "store/trusted.d/t0.pub") },
      files: (await packageDigest(pkg)).files,
    });
  });

  test("untrusted key → untrusted, saying how to trust it", async () => {
    await signPackage(pkg, secretKey);
    const outcome = await verifyPackage(pkg, { trustStore: await storeWith([], []) });
    expect(statusOf(outcome)).toBe("untrusted");
    expect(messageOf(outcome)).toContain(keyFiles.publicKeyHex);
    expect(messageOf(outcome)).toContain(`cp ${join(pkg, "signer.pub")} ${join(work, "store/trusted.d")}/`);
  });

  test("no trust store at all checks integrity only", async () => {
    await signPackage(pkg, secretKey);
    expect(statusOf(await verifyPackage(pkg, { trustStore: undefined }))).toBe("untrusted");
    writeFileSync(join(pkg, "app.wasm"), "changed");
    expect(statusOf(await verifyPackage(pkg, { trustStore: undefined }))).toBe("tampered");
  });

  test("revoked key → revoked; a key both trusted and revoked is revoked", async () => {
    await signPackage(pkg, secretKey);
    expect(statusOf(await verifyPackage(pkg, { trustStore: await storeWith([], [keyFiles.publicKeyHex]) }))).toBe("revoked");
    rmSync(join(work, "store"), { recursive: true });
    const both = await storeWith([keyFiles.publicKeyHex], [keyFiles.publicKeyHex]);
    const outcome = await verifyPackage(pkg, { trustStore: both });
    expect(statusOf(outcome)).toBe("revoked");
    expect(messageOf(outcome)).toContain("revoked.d/r0.pub");
  });

  test("a changed, added or removed file → tampered", async () => {
    await signPackage(pkg, secretKey);
    const store = await storeWith([keyFiles.publicKeyHex], []);
    expect(statusOf(await verifyPackage(pkg, { trustStore: store }))).toBe("trusted");

    writeFileSync(join(pkg, "ui/index.html"), "<p>hi!</p>\n");
    const changed = await verifyPackage(pkg, { trustStore: store });
    expect(statusOf(changed)).toBe("tampered");
    expect(messageOf(changed)).toContain("modified after it was signed");
    writeFileSync(join(pkg, "ui/index.html"), "<p>hi</p>\n");
    expect(statusOf(await verifyPackage(pkg, { trustStore: store }))).toBe("trusted");

    writeFileSync(join(pkg, "ui/extra.js"), "");
    expect(statusOf(await verifyPackage(pkg, { trustStore: store }))).toBe("tampered");
    unlinkSync(join(pkg, "ui/extra.js"));

    unlinkSync(join(pkg, "app.wasm"));
    expect(statusOf(await verifyPackage(pkg, { trustStore: store }))).toBe("tampered");
  });

  test("an empty directory is not covered (as in the reference)", async () => {
    await signPackage(pkg, secretKey);
    mkdirSync(join(pkg, "empty"));
    expect(statusOf(await verifyPackage(pkg, { trustStore: await storeWith([keyFiles.publicKeyHex], []) }))).toBe("trusted");
  });

  test("a package re-signed by someone else with their signer.pub → untrusted, not trusted", async () => {
    await signPackage(pkg, secretKey);
    const store = await storeWith([keyFiles.publicKeyHex], []);
    const other = await generateKeyPair(join(work, "other"));
    writeFileSync(join(pkg, "app.wasm"), "evil");
    await signPackage(pkg, await readSecretKey(other.secretKeyFile));
    const outcome = await verifyPackage(pkg, { trustStore: store });
    expect(statusOf(outcome)).toBe("untrusted");
    expect(messageOf(outcome)).toContain(other.publicKeyHex);
  });

  test("no signature.sig → unsigned", async () => {
    const outcome = await verifyPackage(pkg, { trustStore: await storeWith([], []) });
    expect(statusOf(outcome)).toBe("unsigned");
  });

  test("truncated, non-hex, or symlinked signature.sig → malformed, naming the file", async () => {
    await signPackage(pkg, secretKey);
    const store = await storeWith([keyFiles.publicKeyHex], []);
    const signatureFile = join(pkg, "signature.sig");
    const signature = readFileSync(signatureFile, "utf8");

    writeFileSync(signatureFile, signature.slice(0, 100));
    let outcome = await verifyPackage(pkg, { trustStore: store });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain(`${signatureFile} is malformed: expected 128 hex characters`);

    writeFileSync(signatureFile, "g" + signature.slice(1));
    outcome = await verifyPackage(pkg, { trustStore: store });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain("not hex digits");

    writeFileSync(signatureFile, `${signature}\n`); // a trailing newline is trimmed, as the reference did
    expect(statusOf(await verifyPackage(pkg, { trustStore: store }))).toBe("trusted");

    writeFileSync(join(work, "sig-elsewhere"), signature);
    unlinkSync(signatureFile);
    symlinkSync(join(work, "sig-elsewhere"), signatureFile);
    outcome = await verifyPackage(pkg, { trustStore: store });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain("is a symlink");
  });

  test("a malformed signer.pub → malformed, naming it", async () => {
    await signPackage(pkg, secretKey);
    writeFileSync(join(pkg, "signer.pub"), "abc");
    const outcome = await verifyPackage(pkg, { trustStore: await storeWith([keyFiles.publicKeyHex], []) });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain(join(pkg, "signer.pub"));
  });
});

describe("packages from the reference tools (no signer.pub)", () => {
  async function signLikeReference(): Promise<void> {
    await signPackage(pkg, secretKey);
    // Sign again without signer.pub, as the reference's weft-pack did.
    unlinkSync(join(pkg, "signer.pub"));
    const { digest } = await packageDigest(pkg);
    const ed = await import("@noble/ed25519");
    writeFileSync(join(pkg, "signature.sig"), toHex(await ed.signAsync(digest, secretKey)));
  }

  test("every trusted key is tried", async () => {
    await signLikeReference();
    const other = await generateKeyPair(join(work, "other"));
    const store = await storeWith([other.publicKeyHex, keyFiles.publicKeyHex], []);
    const outcome = await verifyPackage(pkg, { trustStore: store });
    expect(outcome).toEqual({
      status: "trusted",
      signer: { publicKeyHex: keyFiles.publicKeyHex, file: join(work, "store/trusted.d/t1.pub") },
      files: (await packageDigest(pkg)).files,
    });
  });

  test("a revoked key → revoked; no match → the message names both possibilities", async () => {
    await signLikeReference();
    expect(statusOf(await verifyPackage(pkg, { trustStore: await storeWith([keyFiles.publicKeyHex], [keyFiles.publicKeyHex]) }))).toBe("revoked");
    rmSync(join(work, "store"), { recursive: true });
    const outcome = await verifyPackage(pkg, { trustStore: await storeWith([], []) });
    expect(statusOf(outcome)).toBe("untrusted");
    expect(messageOf(outcome)).toContain("matches no trusted key: either the package was modified after signing or its signer is not trusted");
  });

  test("the explicit key still verifies it (weft-pack verify --key)", async () => {
    await signLikeReference();
    expect(statusOf(await verifyPackage(pkg, { publicKey }))).toBe("trusted");
  });
});

describe("explicit key (weft-pack verify --key)", () => {
  test("right key → trusted; wrong key → tampered, or untrusted naming the real signer", async () => {
    await signPackage(pkg, secretKey);
    expect(statusOf(await verifyPackage(pkg, { publicKey, keyFile: keyFiles.publicKeyFile }))).toBe("trusted");
    const other = await generateKeyPair(join(work, "other"));
    const wrongKey = await readPublicKey(other.publicKeyFile);
    const outcome = await verifyPackage(pkg, { publicKey: wrongKey, keyFile: other.publicKeyFile });
    expect(statusOf(outcome)).toBe("untrusted");
    expect(messageOf(outcome)).toContain(`signed by key ${keyFiles.publicKeyHex}`);
    writeFileSync(join(pkg, "app.wasm"), "changed");
    expect(statusOf(await verifyPackage(pkg, { publicKey, keyFile: keyFiles.publicKeyFile }))).toBe("tampered");
  });

  test("still revocation-aware with a store", async () => {
    await signPackage(pkg, secretKey);
    const store = await storeWith([], [keyFiles.publicKeyHex]);
    expect(statusOf(await verifyPackage(pkg, { publicKey, trustStore: store }))).toBe("revoked");
  });

  test("secret-key mode checks the package is signed by that key's public half", async () => {
    await signPackage(pkg, secretKey);
    expect(statusOf(await verifyPackage(pkg, { secretKey }))).toBe("trusted");
    expect(toHex(await publicKeyOf(secretKey))).toBe(keyFiles.publicKeyHex);
  });
});

describe("hostile package trees", () => {
  test("a symlink pointing outside is refused when signing and verifying, naming it", async () => {
    writeFileSync(join(work, "outside.txt"), "secret");
    symlinkSync(join(work, "outside.txt"), join(pkg, "ui/link.txt"));
    await expect(signPackage(pkg, secretKey)).rejects.toThrow(/"ui\/link.txt" is a symlink/);
    expect(existsSync(join(pkg, "signer.pub"))).toBe(false); // a refused sign leaves the package untouched
    unlinkSync(join(pkg, "ui/link.txt"));
    await signPackage(pkg, secretKey);
    symlinkSync(work, join(pkg, "up"));
    const outcome = await verifyPackage(pkg, { publicKey });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain('"up" is a symlink');
  });

  test("a symlinked signer.pub is refused by sign, never written through", async () => {
    writeFileSync(join(work, "victim"), "keep me");
    symlinkSync(join(work, "victim"), join(pkg, "signer.pub"));
    await expect(signPackage(pkg, secretKey)).rejects.toThrow(/"signer.pub" is a symlink/);
    expect(readFileSync(join(work, "victim"), "utf8")).toBe("keep me");
  });

  test("a FIFO in a package is an error, not a hang", async () => {
    expect(spawnSync("mkfifo", [join(pkg, "ui/pipe")]).status).toBe(0);
    await expect(packageDigest(pkg)).rejects.toThrow(/"ui\/pipe" is a FIFO/);
    await expect(signPackage(pkg, secretKey)).rejects.toThrow(/is a FIFO/);
    unlinkSync(join(pkg, "ui/pipe"));
    await signPackage(pkg, secretKey);
    expect(spawnSync("mkfifo", [join(pkg, "ui/pipe")]).status).toBe(0);
    const outcome = await verifyPackage(pkg, { publicKey });
    expect(statusOf(outcome)).toBe("malformed");
    expect(messageOf(outcome)).toContain('"ui/pipe" is a FIFO');
  });

  test("file names with a tab or newline are refused", async () => {
    writeFileSync(join(pkg, "a\tb"), "");
    await expect(signPackage(pkg, secretKey)).rejects.toThrow(/contains a tab/);
    unlinkSync(join(pkg, "a\tb"));
    mkdirSync(join(pkg, "dir\nname"));
    await expect(packageDigest(pkg)).rejects.toThrow(/contains a newline/);
  });

  test("a file name that is not UTF-8 is refused", async () => {
    sh(`touch $'bad\\xff'`, pkg);
    await expect(packageDigest(pkg)).rejects.toThrow(/"bad\\xff": file name is not valid UTF-8/);
  });

  test("file count and total size are capped", async () => {
    const limits = { maxFiles: 2, maxTotalBytes: 1 << 30, maxDepth: 64 };
    await expect(packageDigest(pkg, limits)).rejects.toThrow(/more than 2 files/);
    await expect(packageDigest(pkg, { maxFiles: 100, maxTotalBytes: 10, maxDepth: 64 })).rejects.toThrow(/larger than 10 bytes/);
    await expect(packageDigest(pkg, { maxFiles: 100, maxTotalBytes: 1 << 30, maxDepth: 0 })).rejects.toThrow(PackageContentError);
    await signPackage(pkg, secretKey);
    const outcome = await verifyPackage(pkg, { publicKey, limits: { maxFiles: 2, maxTotalBytes: 1 << 30, maxDepth: 64 } });
    expect(statusOf(outcome)).toBe("malformed");
  });

  test("a package directory that does not exist throws instead of returning an outcome", async () => {
    await expect(verifyPackage(join(work, "absent"), { publicKey })).rejects.toThrow();
  });
});
