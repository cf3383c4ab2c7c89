import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generateKeyPair,
  KeyFileError,
  publicKeyOf,
  readPublicKey,
  readSecretKey,
  signBytes,
  toHex,
  verifyBytes,
} from "./keys.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const hexOf = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

describe("Ed25519", () => {
  test("RFC 8032 section 7.1, test 1 (empty message) pins the algorithm", async () => {
    const secret = hexOf("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    const expectedPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const expectedSignature =
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    expect(toHex(await publicKeyOf(secret))).toBe(expectedPublic);
    const signature = await signBytes(new Uint8Array(0), secret);
    expect(toHex(signature)).toBe(expectedSignature);
    expect(await verifyBytes(signature, new Uint8Array(0), hexOf(expectedPublic))).toBe(true);
    expect(await verifyBytes(signature, new Uint8Array([0]), hexOf(expectedPublic))).toBe(false);
  });

  test("verification answers false, not an exception, for garbage", async () => {
    expect(await verifyBytes(new Uint8Array(64), new Uint8Array(32), new Uint8Array(32))).toBe(false);
    expect(await verifyBytes(new Uint8Array(3), new Uint8Array(32), new Uint8Array(5))).toBe(false);
  });
});

describe("generateKeyPair", () => {
  test("writes 64 hex characters without newline, the secret key with mode 0600", async () => {
    const pair = await generateKeyPair(join(dir, "keys"));
    const secretText = readFileSync(pair.secretKeyFile, "utf8");
    const publicText = readFileSync(pair.publicKeyFile, "utf8");
    expect(secretText).toMatch(/^[0-9a-f]{64}$/);
    expect(publicText).toMatch(/^[0-9a-f]{64}$/);
    expect(publicText).toBe(pair.publicKeyHex);
    expect(statSync(pair.secretKeyFile).mode & 0o777).toBe(0o600);
    expect(toHex(await publicKeyOf(await readSecretKey(pair.secretKeyFile)))).toBe(publicText);
  });

  test("refuses to overwrite an existing key", async () => {
    await generateKeyPair(dir);
    const before = readFileSync(join(dir, "weft-sign.key"), "utf8");
    await expect(generateKeyPair(dir)).rejects.toThrow(/already exists/);
    expect(readFileSync(join(dir, "weft-sign.key"), "utf8")).toBe(before);
  });

  test("refuses when only the public half exists, and writes nothing", async () => {
    writeFileSync(join(dir, "weft-sign.pub"), "x");
    await expect(generateKeyPair(dir)).rejects.toThrow(KeyFileError);
    expect(() => statSync(join(dir, "weft-sign.key"))).toThrow();
  });
});

describe("reading key files", () => {
  test("a trailing newline (an editor's) is accepted after trimming", async () => {
    const pair = await generateKeyPair(dir);
    writeFileSync(pair.secretKeyFile, readFileSync(pair.secretKeyFile, "utf8") + "\n");
    writeFileSync(pair.publicKeyFile, `  ${pair.publicKeyHex.toUpperCase()}\r\n`);
    expect(toHex(await readPublicKey(pair.publicKeyFile))).toBe(pair.publicKeyHex);
    expect((await readSecretKey(pair.secretKeyFile)).length).toBe(32);
  });

  test("wrong lengths and non-hex content are errors naming the file", async () => {
    const file = join(dir, "k.key");
    writeFileSync(file, "ab".repeat(31));
    await expect(readSecretKey(file)).rejects.toThrow(`${file}: expected 64 hex characters`);
    writeFileSync(file, "ab".repeat(33));
    await expect(readSecretKey(file)).rejects.toThrow(/found 66/);
    writeFileSync(file, "zz".repeat(32));
    await expect(readSecretKey(file)).rejects.toThrow(/not hex digits/);
    writeFileSync(file, "");
    await expect(readPublicKey(file)).rejects.toThrow(/found 0/);
  });

  test("a public key must be a usable curve point", async () => {
    const file = join(dir, "bad.pub");
    writeFileSync(file, "02" + "00".repeat(31));
    await expect(readPublicKey(file)).rejects.toThrow(/not a valid Ed25519 public key/);
    writeFileSync(file, "01" + "00".repeat(31)); // the identity: on the curve, but small order
    await expect(readPublicKey(file)).rejects.toThrow(/small-order/);
  });

  test("missing files, directories, FIFOs and huge files are errors, not hangs", async () => {
    await expect(readSecretKey(join(dir, "absent.key"))).rejects.toThrow(/absent.key: no such file/);
    await expect(readSecretKey(dir)).rejects.toThrow(KeyFileError);
    const fifo = join(dir, "fifo.key");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    await expect(readSecretKey(fifo)).rejects.toThrow(/fifo.key: is not a regular file/);
    const big = join(dir, "big.key");
    writeFileSync(big, "a".repeat(100_000));
    await expect(readSecretKey(big)).rejects.toThrow(/too large for a key file/);
  });
});
