/**
 * Benchmark: `verifyPackage` on a ~50 MB package (three big files, two thousand small ones) against
 * `find … -print0 | xargs -0 sha256sum` over the same files, both measured in this run on warm page cache.
 * The baseline does strictly less work (no walk checks, no sorting, no signature), so a ratio near or below 1
 * means verification costs no more than hashing the files with the system tool.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchResult, median, result } from "./result.ts";
import { generateKeyPair, readPublicKey, readSecretKey } from "../services/common/package/keys.ts";
import { signPackage, verifyPackage } from "../services/common/package/signing.ts";

export interface VerifyTimings {
  /** Median wall time of `verifyPackage`, milliseconds. */
  verifyMs: number;
  /** Median wall time of the `sha256sum` pipeline (process start-up included), milliseconds. */
  sha256sumMs: number;
  /** verifyMs / sha256sumMs: below 1 is faster than the baseline. */
  ratio: number;
  files: number;
  bytes: number;
}

const BIG_FILES = 3;
const BIG_FILE_BYTES = 15 * 1024 * 1024;
const SMALL_FILES = 2000;
const SMALL_FILE_BYTES = 2600;

function createPackage(dir: string): { files: number; bytes: number } {
  mkdirSync(join(dir, "ui"), { recursive: true });
  writeFileSync(join(dir, "wapp.toml"), '[package]\nid = "org.weft.bench.verify"\nname = "Bench"\nversion = "1.0.0"\n');
  let bytes = 0;
  for (let i = 0; i < BIG_FILES; i++) {
    writeFileSync(join(dir, `blob-${i}.bin`), randomBytes(BIG_FILE_BYTES));
    bytes += BIG_FILE_BYTES;
  }
  for (let i = 0; i < SMALL_FILES; i++) {
    const sub = join(dir, "ui", `part-${i % 20}`);
    if (i < 20) mkdirSync(sub);
    const size = SMALL_FILE_BYTES + (i % 7) * 100;
    writeFileSync(join(sub, `asset-${i}.js`), randomBytes(size));
    bytes += size;
  }
  return { files: BIG_FILES + SMALL_FILES + 1, bytes };
}

async function timeSha256sum(dir: string): Promise<number> {
  const start = performance.now();
  const child = Bun.spawn(["sh", "-c", 'find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null', "sh", dir], {
    stdout: "ignore",
    stderr: "inherit",
  });
  if ((await child.exited) !== 0) throw new Error("sha256sum baseline failed");
  return performance.now() - start;
}

/** Creates, signs and verifies a ~50 MB package `runs` times (after one warm-up each), returning medians. */
export async function measureVerify(runs = 7): Promise<VerifyTimings> {
  const work = mkdtempSync(join(tmpdir(), "weft-bench-verify-"));
  try {
    const pkg = join(work, "pkg");
    const { files, bytes } = createPackage(pkg);
    const keys = await generateKeyPair(join(work, "keys"));
    await signPackage(pkg, await readSecretKey(keys.secretKeyFile));
    const publicKey = await readPublicKey(keys.publicKeyFile);

    const verifyOnce = async () => {
      const start = performance.now();
      const outcome = await verifyPackage(pkg, { publicKey });
      const elapsed = performance.now() - start;
      if (outcome.status !== "trusted") throw new Error(`benchmark package did not verify: ${outcome.status}`);
      return elapsed;
    };
    await verifyOnce();
    await timeSha256sum(pkg);
    const verifySamples: number[] = [];
    const baselineSamples: number[] = [];
    // Interleaved, so a burst of background load hits both sides alike.
    for (let i = 0; i < runs; i++) {
      verifySamples.push(await verifyOnce());
      baselineSamples.push(await timeSha256sum(pkg));
    }
    const verifyMs = median(verifySamples);
    const sha256sumMs = median(baselineSamples);
    return { verifyMs, sha256sumMs, ratio: verifyMs / sha256sumMs, files: files + 1 /* signer.pub */, bytes };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Entry point for `bun run bench`. */
export async function benchVerify(): Promise<BenchResult[]> {
  const timings = await measureVerify();
  const megabytes = Math.round(timings.bytes / 1e6);
  return [
    result(`verify ${megabytes} MB package (${timings.files} files)`, timings.verifyMs, "ms", "find | xargs sha256sum", timings.sha256sumMs),
  ];
}

if (import.meta.main) console.log(await measureVerify());
