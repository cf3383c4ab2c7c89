/**
 * A component from another toolchain: Rust std for wasm32-wasip2 (fixtures/rust-app), built with cargo on
 * first use. It imports whatever WASI 0.2.x its rustc's std uses; it must link, print, read its env and use
 * its preopens exactly as granted.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inspectComponent } from "../../common/package/component.ts";
import { makeTempDir } from "../../../testing/components.ts";
import { outputCollector, rustGuest } from "./fixtures/fixtures.ts";
import { type GuestExit, startGuest } from "./index.ts";

let bytes: Uint8Array;
let dir: string;

beforeAll(async () => {
  bytes = await rustGuest();
  dir = await makeTempDir("weft-wasmtime-rust-");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(env: Record<string, string>, preopens: { hostPath: string; guestPath: string; writable: boolean }[] = []): Promise<{ exit: GuestExit; lines: string[]; stderr: string }> {
  const output = outputCollector();
  const guest = await startGuest({ component: { bytes }, imports: [], env, preopens, onOutput: output.onOutput });
  const exit = await guest.exited;
  return { exit, lines: output.text("stdout").trimEnd().split("\n"), stderr: output.text("stderr") };
}

describe("a Rust wasm32-wasip2 component", () => {
  test("imports WASI 0.2 interfaces (the version its std chose)", async () => {
    const { imports, exports } = await inspectComponent(bytes);
    expect(exports.some((name) => /^wasi:cli\/run@0\.2\.\d+$/.test(name))).toBe(true);
    expect(imports.some((name) => /^wasi:cli\/environment@0\.2\.\d+$/.test(name))).toBe(true);
    expect(imports.some((name) => /^wasi:filesystem\/preopens@0\.2\.\d+$/.test(name))).toBe(true);
  });

  test("prints, sees only the env it was given, no args, an empty stdin, no files outside preopens, no network", async () => {
    const { exit, lines, stderr } = await run({ GREETING: "hi" });
    expect(exit).toEqual({ status: "returned-ok", message: "run returned ok" });
    expect(stderr).toBe("rust stderr line\n");
    expect(lines).toEqual([
      "hello from rust",
      "env: GREETING=hi",
      "args: 0",
      "stdin: 0 bytes",
      "outside: denied (No such file or directory (os error 44))",
      "net: denied (Permission denied (os error 2))",
    ]);
  });

  test("writes and reads in a writable preopen; a read-only preopen refuses every change", async () => {
    const writable = join(dir, "data");
    const readOnly = join(dir, "ro");
    await mkdir(writable, { recursive: true });
    await mkdir(readOnly, { recursive: true });
    await writeFile(join(readOnly, "input.txt"), "read me\n");
    await writeFile(join(dir, "secret.txt"), "not for the guest\n");

    const { exit, lines } = await run({ RW_DIR: "/data", RO_DIR: "/ro" }, [
      { hostPath: writable, guestPath: "/data", writable: true },
      { hostPath: readOnly, guestPath: "/ro", writable: false },
    ]);
    expect(exit.status).toBe("returned-ok");
    const denied = "denied (Operation not permitted (os error 63))";
    expect(lines.slice(4, 14)).toEqual([
      "rw: written by rust",
      "rw mkdir: ok",
      "ro read: read me",
      `ro create: ${denied}`,
      `ro overwrite: ${denied}`,
      `ro append: ${denied}`,
      `ro remove: ${denied}`,
      `ro mkdir: ${denied}`,
      `ro escape: ${denied}`,
      "outside: denied (No such file or directory (os error 44))",
    ]);
    // The host side agrees: the write landed, the read-only directory is untouched.
    expect(await readFile(join(writable, "written.txt"), "utf8")).toBe("written by rust\n");
    expect(await readdir(join(writable, "sub"))).toEqual(["dir"]);
    expect((await readdir(readOnly)).sort()).toEqual(["input.txt"]);
    expect(await readFile(join(readOnly, "input.txt"), "utf8")).toBe("read me\n");
  });

  test("interrupt() cannot cut a WASI sleep short, but the guest stops as soon as it returns, running nothing more", async () => {
    const output = outputCollector();
    const guest = await startGuest({ component: { bytes }, imports: [], env: { SLEEP_MS: "1000" }, onOutput: output.onOutput });
    const started = performance.now();
    await Bun.sleep(100);
    guest.interrupt();
    const exit = await guest.exited;
    expect(exit.status).toBe("interrupted");
    expect(performance.now() - started).toBeGreaterThan(700);
    expect(output.text("stdout")).toBe(""); // "slept" would come right after the sleep
  });

  test("std::process::exit is reported as a WASI exit (WASI 0.2 carries only success or failure: 3 → 1)", async () => {
    const { exit, lines } = await run({ EXIT_CODE: "3" });
    expect(exit).toEqual({ status: "exit", code: 1, message: "the guest exited with code 1" });
    expect(lines.at(-1)).toBe("net: denied (Permission denied (os error 2))");
  });
});
