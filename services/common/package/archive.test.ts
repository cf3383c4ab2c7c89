import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createZstdCompress } from "node:zlib";
import {
  ArchiveError,
  bundlePackage,
  encodePaxRecords,
  encodeTarEntry,
  encodeTarHeader,
  TAR_END,
  type TarHeaderFields,
  TarType,
  unbundleArchive,
} from "./archive.ts";
import { generateKeyPair, readPublicKey, readSecretKey } from "./keys.ts";
import { packageDigest, signPackage, verifyPackage } from "./signing.ts";

const ID = "org.example.app";
let work: string;
let pkg: string;
let out: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "weft-archive-"));
  pkg = join(work, "pkg");
  out = join(work, "out");
  mkdirSync(join(pkg, "ui/assets"), { recursive: true });
  mkdirSync(join(pkg, "empty"));
  mkdirSync(out);
  writeFileSync(join(out, "keep.txt"), "already here");
  writeFileSync(join(pkg, "wapp.toml"), `[package]\nid = "${ID}"\n`);
  writeFileSync(join(pkg, "app.wasm"), new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff));
  writeFileSync(join(pkg, "ui/index.html"), "<p>hi</p>\n");
  writeFileSync(join(pkg, "ui/assets/caf\u00e9 \u{1f600}.txt"), "non-ASCII name");
  writeFileSync(join(pkg, `ui/assets/${"long-name-".repeat(15)}.js`), "a name over 100 bytes needs a PAX header");
  writeFileSync(join(pkg, "run.sh"), "#!/bin/sh\n");
  chmodSync(join(pkg, "run.sh"), 0o755);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Every path under `dir` with its kind and content, to compare trees and prove nothing else was written. */
function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const visit = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const s = statSync(path);
      result[relative(dir, path)] = s.isDirectory() ? "dir" : `${(s.mode & 0o111) !== 0 ? "x " : ""}${readFileSync(path).toString("base64")}`;
      if (s.isDirectory()) visit(path);
    }
  };
  visit(dir);
  return result;
}

/** Compresses as a stream, so the frame does not declare its content size (as our bundle writer's frames). */
async function writeStreamedArchive(name: string, tar: Uint8Array[]): Promise<string> {
  const compressor = createZstdCompress();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of compressor) chunks.push(chunk as Buffer);
  })();
  compressor.end(Buffer.concat(tar));
  await done;
  const file = join(work, name);
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}

function writeArchive(name: string, tar: Uint8Array[]): string {
  const file = join(work, name);
  writeFileSync(file, Bun.zstdCompressSync(Buffer.concat(tar)));
  return file;
}

const dir = (name: string, extra: Partial<TarHeaderFields> = {}) => encodeTarEntry({ name, typeflag: TarType.directory, ...extra });
const file = (name: string | Uint8Array, content = "x", extra: Partial<TarHeaderFields> = {}) =>
  encodeTarEntry({ name, typeflag: TarType.file, ...extra }, Buffer.from(content));

/** Unbundles `archive` into `out`, expecting an ArchiveError matching `pattern` and no change anywhere. */
async function expectRefused(archive: string, pattern: RegExp, limits?: { maxEntries: number; maxTotalBytes: number }) {
  const outBefore = snapshot(out);
  const workBefore = readdirSync(work).sort();
  const error = await unbundleArchive(archive, out, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArchiveError);
  expect((error as Error).message).toMatch(pattern);
  expect(snapshot(out)).toEqual(outBefore);
  expect(readdirSync(work).sort()).toEqual(workBefore);
}

/** Names of the entries of an uncompressed tar, in order (plain ustar headers only). */
function tarNames(tar: Uint8Array): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = Buffer.from(header.subarray(0, 100)).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(Buffer.from(header.subarray(124, 136)).toString("latin1"), 8);
    names.push(String.fromCharCode(header[156]!) + " " + name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe("bundle and unbundle", () => {
  test("round trip: identical files, and the signature still verifies", async () => {
    const keys = await generateKeyPair(join(work, "keys"));
    await signPackage(pkg, await readSecretKey(keys.secretKeyFile));
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);

    const result = await unbundleArchive(bundle, out);
    expect(result).toEqual({ dir: join(out, ID), id: ID });
    expect(snapshot(result.dir)).toEqual(snapshot(pkg));
    expect(statSync(join(result.dir, "run.sh")).mode & 0o777).toBe(0o755);
    expect(statSync(join(result.dir, "wapp.toml")).mode & 0o777).toBe(0o644);
    expect((await packageDigest(result.dir)).text).toBe((await packageDigest(pkg)).text);
    const outcome = await verifyPackage(result.dir, { publicKey: await readPublicKey(keys.publicKeyFile) });
    expect(outcome.status).toBe("trusted");
    expect(readdirSync(out).sort()).toEqual(["keep.txt", ID]);
  });

  test("output is deterministic and in tree order, with the top-level directory first", async () => {
    const first = join(work, "a.app.tar.zst");
    const second = join(work, "b.app.tar.zst");
    await bundlePackage(pkg, ID, first);
    writeFileSync(join(pkg, "wapp.toml"), readFileSync(join(pkg, "wapp.toml"))); // new mtime, same bytes
    await bundlePackage(pkg, ID, second);
    expect(readFileSync(first).equals(readFileSync(second))).toBe(true);

    const names = tarNames(Bun.zstdDecompressSync(readFileSync(first)));
    expect(names.slice(0, 4)).toEqual([`5 ${ID}/`, `0 ${ID}/app.wasm`, `5 ${ID}/empty/`, `0 ${ID}/run.sh`]);
    expect(names).toContain("x ././@PaxHeader");
  });

  test("GNU tar reads our bundles, and we read GNU-format archives (long names as GNU 'L' entries)", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);
    mkdirSync(join(work, "gnu"));
    const extracted = spawnSync("tar", ["--zstd", "-xf", bundle, "-C", join(work, "gnu")], { encoding: "utf8" });
    expect(extracted.stderr).toBe("");
    expect(snapshot(join(work, "gnu", ID))).toEqual(snapshot(pkg));

    const gnuBundle = join(work, "gnu.app.tar.zst");
    const created = spawnSync("tar", ["--zstd", "--format=gnu", "-cf", gnuBundle, "-C", join(work, "gnu"), ID], { encoding: "utf8" });
    expect(created.status).toBe(0);
    const result = await unbundleArchive(gnuBundle, out);
    expect(snapshot(result.dir)).toEqual(snapshot(pkg));
  });

  test("a ustar prefix field is joined to the name", async () => {
    const archive = writeArchive("prefix.app.tar.zst", [dir(`${ID}/`), file("index.html", "p", { prefix: `${ID}/ui` }), TAR_END]);
    const result = await unbundleArchive(archive, out);
    expect(readFileSync(join(result.dir, "ui/index.html"), "utf8")).toBe("p");
  });

  test("bundle refuses symlinks and leaves no output behind", async () => {
    symlinkSync("/etc/passwd", join(pkg, "ui/passwd"));
    const bundle = join(work, `${ID}.app.tar.zst`);
    await expect(bundlePackage(pkg, ID, bundle)).rejects.toThrow(/"ui\/passwd" is a symlink/);
    expect(existsSync(bundle)).toBe(false);
  });

  test("bundle refuses an existing output, an output inside the package, and a bad id", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    writeFileSync(bundle, "mine");
    await expect(bundlePackage(pkg, ID, bundle)).rejects.toThrow(/already exists/);
    expect(readFileSync(bundle, "utf8")).toBe("mine");
    await expect(bundlePackage(pkg, ID, join(pkg, "ui/x.app.tar.zst"))).rejects.toThrow(/inside the package/);
    await expect(bundlePackage(pkg, "../evil", join(work, "e.tar.zst"))).rejects.toThrow(/not|id/);
  });

  test("an existing destination is refused and left alone", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);
    mkdirSync(join(out, ID));
    await expectRefused(bundle, /already exists/);
  });
});

describe("hostile archives", () => {
  test("a '..' component", async () => {
    await expectRefused(writeArchive("a", [file("../evil"), TAR_END]), /"\.\.\/evil" has a '\.\.' component/);
    await expectRefused(writeArchive("b", [dir(`${ID}/`), file(`${ID}/../../evil`), TAR_END]), /'\.\.' component/);
  });

  test("an absolute path", async () => {
    const target = join(work, "abs-target");
    await expectRefused(writeArchive("a", [file(target), TAR_END]), /is an absolute path/);
    expect(existsSync(target)).toBe(false);
  });

  test("symlink, hard link, device and FIFO entries", async () => {
    const link = (typeflag: string) =>
      writeArchive(`t${typeflag}`, [dir(`${ID}/`), encodeTarEntry({ name: `${ID}/x`, typeflag, linkname: "/etc/passwd" }), TAR_END]);
    await expectRefused(link(TarType.symlink), /"org.example.app\/x" is a symlink/);
    await expectRefused(link(TarType.hardlink), /is a hard link/);
    await expectRefused(link(TarType.charDevice), /is a character device/);
    await expectRefused(link(TarType.blockDevice), /is a block device/);
    await expectRefused(link(TarType.fifo), /is a FIFO/);
    await expectRefused(link("S"), /unsupported tar type 'S'/);
  });

  test("entries outside the single top-level directory", async () => {
    await expectRefused(writeArchive("a", [dir(`${ID}/`), file("org.other.app/x"), TAR_END]), /"org.other.app\/x" is outside the top-level directory/);
    await expectRefused(writeArchive("b", [file(ID), TAR_END]), /is a file in place of the top-level directory/);
    await expectRefused(writeArchive("c", [file("README"), TAR_END]), /not an app id/);
  });

  test("duplicates and file/directory conflicts", async () => {
    await expectRefused(writeArchive("a", [dir(`${ID}/`), file(`${ID}/a`), file(`${ID}/a`), TAR_END]), /"org.example.app\/a" is a duplicate entry/);
    await expectRefused(writeArchive("b", [dir(`${ID}/`), dir(`${ID}/d/`), dir(`${ID}/d/`), TAR_END]), /duplicate/);
    await expectRefused(writeArchive("c", [dir(`${ID}/`), file(`${ID}/a`), file(`${ID}/a/b`), TAR_END]), /inside "org.example.app\/a", which is a file/);
    await expectRefused(writeArchive("d", [dir(`${ID}/`), dir(`${ID}/a/`), file(`${ID}/a`), TAR_END]), /file where a directory already is/);
  });

  test("NUL, '.', empty components, tabs and non-UTF-8 bytes in names", async () => {
    const pax = (path: string) => encodeTarEntry({ name: "pax", typeflag: TarType.paxHeader }, encodePaxRecords({ path }));
    await expectRefused(writeArchive("a", [dir(`${ID}/`), pax(`${ID}/a\0b`), file(`${ID}/ignored`), TAR_END]), /NUL byte in its name/);
    await expectRefused(writeArchive("b", [dir(`${ID}/`), file(`${ID}/./a`), TAR_END]), /component that is "\."/);
    await expectRefused(writeArchive("c", [dir(`${ID}/`), file(`${ID}//a`), TAR_END]), /component that is empty/);
    await expectRefused(writeArchive("d", [dir(`${ID}/`), file(`${ID}/a\tb`), TAR_END]), /contains a tab/);
    await expectRefused(writeArchive("e", [dir(`${ID}/`), file(Buffer.from([...Buffer.from(`${ID}/`), 0xff])), TAR_END]), /not valid UTF-8/);
  });

  test("a truncated archive: mid-entry, before the end marker, and a truncated zstd frame", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);
    const tar = Bun.zstdDecompressSync(readFileSync(bundle));
    await expectRefused(writeArchive("mid", [tar.subarray(0, 5000)]), /is truncated/);
    await expectRefused(writeArchive("nomarker", [tar.subarray(0, tar.length - 1024)]), /truncated/);
    const compressed = readFileSync(bundle);
    writeFileSync(join(work, "cut"), compressed.subarray(0, Math.floor(compressed.length / 2)));
    await expectRefused(join(work, "cut"), /truncated/);
  });

  test("garbage after the zstd frame, and data after the end-of-archive marker", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);
    writeFileSync(join(work, "garbage"), Buffer.concat([readFileSync(bundle), Buffer.from("trailing garbage")]));
    await expectRefused(join(work, "garbage"), /has data after its zstd frames/);
    await expectRefused(writeArchive("after", [dir(`${ID}/`), TAR_END, file(`${ID}/late`)]), /data after the end-of-archive marker/);
  });

  test("not zstd at all, a corrupt header checksum, an empty archive", async () => {
    writeFileSync(join(work, "plain.tar"), Buffer.concat([dir(`${ID}/`), TAR_END]));
    await expectRefused(join(work, "plain.tar"), /is not a zstd-compressed archive/);
    const corrupt = Buffer.from(dir(`${ID}/`));
    corrupt[0] = "p".charCodeAt(0);
    await expectRefused(writeArchive("corrupt", [corrupt, TAR_END]), /checksum/);
    await expectRefused(writeArchive("empty", [TAR_END]), /is empty/);
  });

  test("huge declared sizes are refused before any data is read", async () => {
    const huge = encodeTarHeader({ name: `${ID}/big`, typeflag: TarType.file, size: 0o77777777777 });
    await expectRefused(writeArchive("octal", [dir(`${ID}/`), huge, TAR_END]), /declares 8589934591 bytes/);
    const base256 = Buffer.from(encodeTarHeader({ name: `${ID}/big`, typeflag: TarType.file }));
    base256.set([0x80, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0], 124); // 2^36 bytes, GNU binary encoding
    base256.fill(0x20, 148, 156);
    const sum = base256.reduce((a, b) => a + b, 0);
    base256.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    await expectRefused(writeArchive("base256", [dir(`${ID}/`), base256, TAR_END]), /declares 68719476736 bytes/);
    const bigPax = encodeTarEntry({ name: "pax", typeflag: TarType.paxHeader }, new Uint8Array(100_000).fill(0x41));
    await expectRefused(writeArchive("pax", [dir(`${ID}/`), bigPax, TAR_END]), /extended header of 100000 bytes/);
  });

  test("size and entry caps, and a bomb of zeros stopped while it inflates", async () => {
    const limits = { maxEntries: 3, maxTotalBytes: 1024 * 1024 };
    const tooBig = [dir(`${ID}/`), file(`${ID}/a`, "x".repeat(2 * 1024 * 1024)), TAR_END];
    // A one-shot frame declares its content size: refused before decompressing anything.
    await expectRefused(writeArchive("declared", tooBig), /declares 2099200 uncompressed bytes, over the limit/, limits);
    // A streamed frame does not: the tar header's size is refused before its data is read.
    await expectRefused(await writeStreamedArchive("streamed", tooBig), /"org.example.app\/a" declares 2097152 bytes, taking the archive over its limit of 1048576 bytes/, limits);
    const many = writeArchive("many", [dir(`${ID}/`), file(`${ID}/a`), file(`${ID}/b`), file(`${ID}/c`), TAR_END]);
    await expectRefused(many, /one entry too many \(limit 3\)/, limits);
    // Zeros after the end marker count towards no entry: only the cap on inflated bytes stops them.
    const zeros = await writeStreamedArchive("zeros", [dir(`${ID}/`), TAR_END, new Uint8Array(64 * 1024 * 1024)]);
    expect(statSync(zeros).size).toBeLessThan(64 * 1024);
    await expectRefused(zeros, /decompresses to more than/, limits);
  });

  test("an archive that is a FIFO is an error, not a hang", async () => {
    const fifo = join(work, "fifo.app.tar.zst");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    await expectRefused(fifo, /is not a regular file/);
  });

  test("a missing output directory is refused", async () => {
    const bundle = join(work, `${ID}.app.tar.zst`);
    await bundlePackage(pkg, ID, bundle);
    await expect(unbundleArchive(bundle, join(work, "absent"))).rejects.toThrow(/not an existing directory/);
    expect(existsSync(join(work, "absent"))).toBe(false);
  });
});
