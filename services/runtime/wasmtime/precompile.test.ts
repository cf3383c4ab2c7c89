/**
 * precompileComponent → startGuest({ precompiledFile }): same behaviour as compiling at start; a damaged or
 * foreign file is an error, never a crash; the engine fingerprint for cache keys.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../../testing/components.ts";
import { outputCollector, rustGuest, watGuest } from "./fixtures/fixtures.ts";
import { engineFingerprint, precompileComponent, startGuest } from "./index.ts";

let dir: string;

beforeAll(async () => {
  dir = await makeTempDir("weft-wasmtime-precompile-");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function precompileTo(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, await precompileComponent(bytes));
  return path;
}

describe("precompiled components", () => {
  test("a precompiled WAT guest behaves like the compiled one (host calls, traps)", async () => {
    const echo = await precompileTo("echo.cwasm", await watGuest("echo"));
    const sent: string[] = [];
    const inbox = ["from a precompiled guest"];
    const guest = await startGuest({
      component: { precompiledFile: echo },
      imports: [
        { interface: "weft:app/notify@0.1.0", functions: { ready: () => [] } },
        {
          interface: "weft:app/ipc@0.1.0",
          functions: {
            recv: () => [inbox.length > 0 ? { tag: "some", val: inbox.shift()! } : { tag: "none" }],
            send: ([payload]) => (sent.push(payload as string), [{ tag: "ok" }]),
          },
        },
      ],
      onOutput: () => {},
    });
    expect((await guest.exited).status).toBe("returned-ok");
    expect(sent).toEqual(["from a precompiled guest"]);

    const trapping = await precompileTo("oob.cwasm", await watGuest("out-of-bounds"));
    const trapped = await startGuest({ component: { precompiledFile: trapping }, imports: [], onOutput: () => {} });
    expect((await trapped.exited).message).toBe("wasm trap: out of bounds memory access");
  });

  test("a precompiled Rust guest prints the same as the compiled one", async () => {
    const bytes = await rustGuest();
    const path = await precompileTo("rust.cwasm", bytes);
    const outputs = [];
    for (const component of [{ bytes }, { precompiledFile: path }]) {
      const output = outputCollector();
      const guest = await startGuest({ component, imports: [], env: { A: "1" }, onOutput: output.onOutput });
      expect((await guest.exited).status).toBe("returned-ok");
      outputs.push(output.text("stdout"));
    }
    expect(outputs[1]).toBe(outputs[0]!);
    expect(outputs[0]).toContain("env: A=1");
  });

  test("a damaged file (a flipped byte anywhere, a truncation) is refused before Wasmtime sees it", async () => {
    const good = await readFile(await precompileTo("good.cwasm", await watGuest("run-err")));
    const damaged: [string, Uint8Array][] = [];
    for (const offset of [100, good.length >> 1, good.length - 1]) {
      const copy = new Uint8Array(good);
      copy[offset]! ^= 0x40;
      damaged.push([`flipped-${offset}.cwasm`, copy]);
    }
    damaged.push(["truncated.cwasm", good.subarray(0, good.length - 100)]);
    for (const [name, bytes] of damaged) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      await expect(startGuest({ component: { precompiledFile: path }, imports: [], onOutput: () => {} })).rejects.toThrow(
        `${path} is damaged: its SHA-256 does not match its header`,
      );
    }
    // The intact file still loads after all that.
    const intact = join(dir, "intact.cwasm");
    await writeFile(intact, good);
    const guest = await startGuest({ component: { precompiledFile: intact }, imports: [], onOutput: () => {} });
    expect((await guest.exited).status).toBe("returned-err");
  });

  test("a file that is not a precompiled component, or is missing, is refused", async () => {
    const raw = join(dir, "raw.wasm");
    await writeFile(raw, await watGuest("run-err"));
    await expect(startGuest({ component: { precompiledFile: raw }, imports: [], onOutput: () => {} })).rejects.toThrow(
      `${raw} is not a precompiled component`,
    );
    await expect(startGuest({ component: { precompiledFile: join(dir, "missing.cwasm") }, imports: [], onOutput: () => {} })).rejects.toThrow(
      "load the precompiled component",
    );
  });

  test("precompiling something that is not a component rejects", async () => {
    await expect(precompileComponent(new Uint8Array([1, 2, 3]))).rejects.toThrow("compile the component:");
    await expect(precompileComponent(new Uint8Array(0))).rejects.toThrow("the component is empty");
  });

  test("engineFingerprint names the Wasmtime release and the settings compiled code depends on", () => {
    const fingerprint = engineFingerprint();
    expect(fingerprint).toStartWith("wasmtime-48.0.8;");
    expect(fingerprint).toContain("epoch-interruption");
    expect(engineFingerprint()).toBe(fingerprint);
  });

  test("the fingerprint's Wasmtime release is the one native/wasmtime pins", async () => {
    const cargo = await readFile(join(import.meta.dir, "../../../native/wasmtime/Cargo.toml"), "utf8");
    const pinned = /wasmtime-c-api-impl", version = "=([0-9.]+)"/.exec(cargo)?.[1];
    expect(engineFingerprint()).toStartWith(`wasmtime-${pinned};`);
  });
});
