/**
 * startGuest against real Wasmtime and real components (WAT fixtures made into components with jco):
 * host calls, how runs end (ok, err, traps, interruption), limits, output and instantiation errors.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { watGuest, outputCollector } from "./fixtures/fixtures.ts";
import { type GuestExit, type HostImport, startGuest, type WitValue } from "./index.ts";

const notify = (onReady: () => void = () => {}): HostImport => ({
  interface: "weft:app/notify@0.1.0",
  functions: {
    ready: () => {
      onReady();
      return [];
    },
  },
});

/** weft:app/ipc backed by an inbox (recv) and an outbox (send). */
function ipc(inbox: string[], outbox: string[], sendResult: WitValue = { tag: "ok" }): HostImport {
  return {
    interface: "weft:app/ipc@0.1.0",
    functions: {
      recv: async () => {
        const next = inbox.shift();
        return [next === undefined ? { tag: "none" } : { tag: "some", val: next }];
      },
      send: async ([payload]) => {
        outbox.push(payload as string);
        return [sendResult];
      },
    },
  };
}

/** Resolves when `ready` has been called, for guests that signal it before looping. */
function readySignal(): { imports: HostImport; ready: Promise<void> } {
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  return { imports: notify(resolveReady), ready };
}

async function runWat(name: Parameters<typeof watGuest>[0], imports: HostImport[] = [], extra: { memoryLimitBytes?: number } = {}): Promise<GuestExit> {
  const guest = await startGuest({ component: { bytes: await watGuest(name) }, imports, onOutput: () => {}, ...extra });
  return guest.exited;
}

describe("host calls", () => {
  test("strings, option<string> and result<_, string> cross both ways, in order", async () => {
    const outbox: string[] = [];
    let readyCalls = 0;
    const exit = await runWat("echo", [notify(() => readyCalls++), ipc(["hello", "wörld ✓", ""], outbox)]);
    expect(exit).toEqual({ status: "returned-ok", message: "run returned ok" });
    expect(readyCalls).toBe(1);
    expect(outbox).toEqual(["hello", "wörld ✓", ""]);
  });

  test("a result err from the host reaches the guest as a value (here: run returns err)", async () => {
    const outbox: string[] = [];
    const exit = await runWat("echo", [notify(), ipc(["one", "two"], outbox, { tag: "err", val: "IPC not connected" })]);
    expect(exit.status).toBe("returned-err");
    expect(outbox).toEqual(["one"]);
  });

  test("a response larger than the shared buffer arrives whole (chunked)", async () => {
    const big = "x".repeat(300_000) + "✓".repeat(100_000); // ~600 KB of UTF-8, ten 64 KiB chunks
    const outbox: string[] = [];
    const exit = await runWat("echo", [notify(), ipc([big, "small"], outbox)]);
    expect(exit.status).toBe("returned-ok");
    expect(outbox.length).toBe(2);
    expect(outbox[0] === big).toBe(true);
    expect(outbox[1]).toBe("small");
  });

  test("a host function that throws fails the guest with status error naming the function; the process survives", async () => {
    const exit = await runWat("echo", [
      notify(),
      {
        interface: "weft:app/ipc@0.1.0",
        functions: {
          recv: async () => {
            throw new Error("D-Bus went away");
          },
          send: () => [{ tag: "ok" }],
        },
      },
    ]);
    expect(exit.status).toBe("error");
    expect(exit.message).toBe("host function weft:app/ipc@0.1.0#recv threw: D-Bus went away");
    // The next guest runs normally.
    expect((await runWat("echo", [notify(), ipc([], [])])).status).toBe("returned-ok");
  });

  test("a host result that does not fit the WIT type fails the guest with the path of the bad value", async () => {
    const exit = await runWat("echo", [
      notify(),
      { interface: "weft:app/ipc@0.1.0", functions: { recv: () => ["not an option"], send: () => [{ tag: "ok" }] } },
    ]);
    expect(exit.status).toBe("error");
    expect(exit.message).toContain("weft:app/ipc@0.1.0#recv");
    expect(exit.message).toContain('result: expected { tag: "some", val } or { tag: "none" }, got "not an option"');
  });

  test("a host function returning a non-array or a non-WIT value is reported, not thrown into the process", async () => {
    const exit = await runWat("echo", [
      notify(),
      { interface: "weft:app/ipc@0.1.0", functions: { recv: () => [{ tag: "some", val: null }] as never, send: () => [{ tag: "ok" }] } },
    ]);
    expect(exit.status).toBe("error");
    expect(exit.message).toContain("null is not a WIT value");
  });
});

/** Runs fixtures/ticker.wat for `calls` host calls; returns how it ended and the calls the host saw. */
async function tick(calls: number): Promise<{ exit: GuestExit; seen: number }> {
  let seen = 0;
  const guest = await startGuest({
    component: { bytes: await watGuest("ticker") },
    imports: [{ interface: "weft-test:host/ticker", functions: { next: () => [++seen <= calls] } }],
    onOutput: () => {},
  });
  return { exit: await guest.exited, seen };
}

describe("many host calls", () => {
  test("10 000 calls in a row are all answered, and a further 30 000 do not grow the process", async () => {
    const warmUp = await tick(10_000);
    expect(warmUp.exit.status).toBe("returned-ok");
    expect(warmUp.seen).toBe(10_001);
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 3; round++) expect((await tick(10_000)).seen).toBe(10_001);
    Bun.gc(true);
    const grownMiB = (process.memoryUsage().rss - before) / (1024 * 1024);
    // A per-call leak of even 1 KiB would show as 30 MiB here; allocator and JIT noise stays well below.
    expect(grownMiB).toBeLessThan(16);
  });

  test("starting and ending guests does not leak descriptors (output pipes, library handles)", async () => {
    const descriptors = () => readdirSync("/proc/self/fd").length;
    await runWat("run-err");
    const before = descriptors();
    for (let i = 0; i < 20; i++) await runWat(i % 2 === 0 ? "stdio" : "unreachable", [notify()]);
    await Bun.sleep(50);
    expect(descriptors()).toBeLessThanOrEqual(before + 2);
  });
});

describe("how run ends", () => {
  test("run returning err", async () => {
    expect(await runWat("run-err")).toEqual({ status: "returned-err", message: "run returned err" });
  });

  test("unreachable traps", async () => {
    const exit = await runWat("unreachable", [notify()]);
    expect(exit.status).toBe("trap");
    expect(exit.message).toBe("wasm trap: wasm `unreachable` instruction executed");
    expect(exit.detail).toContain("wasm backtrace");
  });

  test("an out-of-bounds load traps (a SIGSEGV in the guard region, handled by Wasmtime next to JavaScriptCore)", async () => {
    const exit = await runWat("out-of-bounds");
    expect(exit.status).toBe("trap");
    expect(exit.message).toBe("wasm trap: out of bounds memory access");
  });

  test("unbounded recursion traps at the wasm stack limit instead of overflowing the worker's stack", async () => {
    const exit = await runWat("stack-overflow");
    expect(exit.status).toBe("trap");
    expect(exit.message).toBe("wasm trap: call stack exhausted");
    // A smaller and the largest allowed limit behave the same.
    for (const maxWasmStackBytes of [128 * 1024, 2 * 1024 * 1024]) {
      const guest = await startGuest({ component: { bytes: await watGuest("stack-overflow") }, imports: [], onOutput: () => {}, maxWasmStackBytes });
      expect((await guest.exited).message).toBe("wasm trap: call stack exhausted");
    }
  });

  test("host calls made with the wasm stack nearly exhausted still work (the worker's native stack is big enough)", async () => {
    for (const maxWasmStackBytes of [512 * 1024, 2 * 1024 * 1024]) {
      let calls = 0;
      const guest = await startGuest({
        component: { bytes: await watGuest("deep-host-call") },
        imports: [notify(() => calls++)],
        onOutput: () => {},
        maxWasmStackBytes,
      });
      expect((await guest.exited).message).toBe("wasm trap: call stack exhausted");
      expect(calls).toBeGreaterThan(100);
    }
  });

  test("traps in a row leave the process healthy", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await runWat("out-of-bounds")).status).toBe("trap");
      expect((await runWat("stack-overflow")).status).toBe("trap");
    }
    expect((await runWat("run-err")).status).toBe("returned-err");
  });
});

describe("interruption", () => {
  test("interrupt() stops a guest spinning in a loop", async () => {
    const { imports, ready } = readySignal();
    const guest = await startGuest({ component: { bytes: await watGuest("spin") }, imports: [imports], onOutput: () => {} });
    await ready;
    await Bun.sleep(50);
    const started = performance.now();
    guest.interrupt();
    const exit = await guest.exited;
    expect(exit.status).toBe("interrupted");
    expect(performance.now() - started).toBeLessThan(1000);
    guest.interrupt(); // harmless after exit
  });

  test("interrupt() wakes a guest blocked in a host call that never answers", async () => {
    let called!: () => void;
    const inCall = new Promise<void>((resolve) => (called = resolve));
    const guest = await startGuest({
      component: { bytes: await watGuest("echo") },
      imports: [
        notify(),
        {
          interface: "weft:app/ipc@0.1.0",
          functions: {
            recv: () => {
              called();
              return new Promise<WitValue[]>(() => {});
            },
            send: () => [{ tag: "ok" }],
          },
        },
      ],
      onOutput: () => {},
    });
    await inCall;
    guest.interrupt();
    expect((await guest.exited).status).toBe("interrupted");
  });

  test("interrupting one guest does not stop another on the same engine", async () => {
    const spinning = readySignal();
    const spinner = await startGuest({ component: { bytes: await watGuest("spin") }, imports: [spinning.imports], onOutput: () => {} });
    let ticks = 0;
    const ticker = await startGuest({
      component: { bytes: await watGuest("ticker") },
      imports: [{ interface: "weft-test:host/ticker", functions: { next: async () => [++ticks < 200 ? (await Bun.sleep(1), true) : false] } }],
      onOutput: () => {},
    });
    await spinning.ready;
    spinner.interrupt();
    expect((await spinner.exited).status).toBe("interrupted");
    expect((await ticker.exited).status).toBe("returned-ok");
    expect(ticks).toBe(200);
  });

  test("terminate() ends a spinning guest and resolves after cleanup", async () => {
    const { imports, ready } = readySignal();
    const guest = await startGuest({ component: { bytes: await watGuest("spin") }, imports: [imports], onOutput: () => {} });
    await ready;
    await guest.terminate();
    expect((await guest.exited).status).toBe("interrupted");
    await guest.terminate(); // idempotent
  });
});

describe("limits", () => {
  const FOUR_MIB = 4 * 1024 * 1024;

  test("a guest that runs out of memory and traps, as allocators do, is reported out of memory, not as `unreachable`", async () => {
    const exit = await runWat("run-out-of-memory", [], { memoryLimitBytes: FOUR_MIB });
    expect(exit.status).toBe("out-of-memory");
    // The growth that crossed the limit (one page over 4 MiB), the limit, and what the guest did then.
    expect(exit.message).toBe(
      "out of memory: the guest asked for 4.1 MiB of linear memory, over its limit of 4 MiB, and then failed (wasm trap: wasm `unreachable` instruction executed)",
    );
  });

  test("memoryLimitBytes makes memory.grow fail in the guest; a guest that fails then ran out of memory", async () => {
    // Without a limit the fixture grows to 64 MiB and returns ok; with 4 MiB its grow fails and it returns err.
    expect((await runWat("grow-memory")).status).toBe("returned-ok");
    const limited = await runWat("grow-memory", [], { memoryLimitBytes: FOUR_MIB });
    expect(limited.status).toBe("out-of-memory");
    expect(limited.message).toEndWith("and then failed (run returned err)");
  });

  test("a guest that copes with a refused growth keeps its own exit, and memory grows in place up to the limit", async () => {
    expect((await runWat("try-big-memory", [], { memoryLimitBytes: FOUR_MIB })).status).toBe("returned-ok"); // refused, coped
    expect((await runWat("try-big-memory", [], { memoryLimitBytes: 32 * 1024 * 1024 })).status).toBe("returned-ok"); // granted
    expect((await runWat("try-big-memory")).status).toBe("returned-ok");
  });

  test("a trap with no refused growth stays a trap", async () => {
    const { imports } = readySignal();
    const exit = await runWat("unreachable", [imports], { memoryLimitBytes: FOUR_MIB });
    expect(exit.status).toBe("trap");
  });

  test("a component whose initial memory exceeds the limit does not instantiate, and the error names both sizes", async () => {
    await expect(runWat("big-memory", [], { memoryLimitBytes: 1024 * 1024 })).rejects.toThrow(
      "instantiate the component: the component's initial linear memory (2048 KiB) is over the guest's memory limit (1024 KiB)",
    );
  });
});

describe("output", () => {
  test("stdout and stderr (WASI 0.2 streams) reach onOutput, each on its own stream, before exited resolves", async () => {
    const output = outputCollector();
    const guest = await startGuest({ component: { bytes: await watGuest("stdio") }, imports: [], onOutput: output.onOutput });
    expect((await guest.exited).status).toBe("returned-ok");
    expect(output.text("stdout")).toBe("hello stdout\nbye stdout\n");
    expect(output.text("stderr")).toBe("hello stderr\n");
  });
});

describe("instantiation errors reject startGuest", () => {
  test("a missing interface is named", async () => {
    await expect(runWat("echo", [notify()])).rejects.toThrow(/instantiate the component: component imports instance `weft:app\/ipc@0\.1\.0`.*`(send|recv)`/);
  });

  test("a missing function is named", async () => {
    const partial: HostImport = { interface: "weft:app/ipc@0.1.0", functions: { send: () => [{ tag: "ok" }] } };
    await expect(runWat("echo", [notify(), partial])).rejects.toThrow(/weft:app\/ipc@0\.1\.0.*`recv`/);
  });

  test("a core module is not a component", async () => {
    const core = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await expect(startGuest({ component: { bytes: core }, imports: [], onOutput: () => {} })).rejects.toThrow(
      "compile the component: failed to parse WebAssembly module: attempted to parse a wasm module with a component parser",
    );
  });

  test("a preopen that does not exist", async () => {
    await expect(
      startGuest({
        component: { bytes: await watGuest("run-err") },
        imports: [],
        preopens: [{ hostPath: "/nonexistent/weft", guestPath: "/data", writable: true }],
        onOutput: () => {},
      }),
    ).rejects.toThrow("preopen /nonexistent/weft as /data: cannot open the directory");
  });

  test("invalid options are refused before any worker starts", async () => {
    const bytes = await watGuest("run-err");
    await expect(startGuest({ component: { bytes }, imports: [], env: { "A=B": "x" }, onOutput: () => {} })).rejects.toThrow(TypeError);
    await expect(startGuest({ component: { bytes }, imports: [{ interface: "not an interface", functions: {} }], onOutput: () => {} })).rejects.toThrow(
      "invalid interface name",
    );
    await expect(startGuest({ component: { bytes }, imports: [], maxWasmStackBytes: 1, onOutput: () => {} })).rejects.toThrow(RangeError);
  });
});
