/**
 * The demo apps and their build (apps/build.ts): the packages it makes, their components, the guests' real
 * behaviour, and the build's cache.
 *
 * The guests run for real without Wasmtime: jco transpiles each built component to JavaScript + core Wasm, and
 * the test instantiates it with its own host:
 *
 *   weft:app/notify, weft:app/ipc      TestHost: a queue of incoming messages, a record of what was sent;
 *                                      recv-wait blocks the thread (Atomics.wait) as the runtime's does
 *   every WASI interface               @bytecodealliance/preview2-shim, with a temporary directory as /data
 *
 * `run` never returns: it serves the UI until the session ends. The host ends it the way a host can: once the
 * queue is empty and the guest has waited `idleLimit` more times, `recv-wait` throws HostStop, which unwinds
 * out of the component to the test. Nothing in the guests exists for the test.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { transpile } from "@bytecodealliance/jco";
import { WASIShim } from "@bytecodealliance/preview2-shim/instantiation";
import { inspectComponent } from "../services/common/package/component.ts";
import { readPublicKey } from "../services/common/package/keys.ts";
import { checkPackage } from "../services/common/package/package-check.ts";
import { verifyPackage } from "../services/common/package/signing.ts";
import { AppBuildError, type AppBuildResult, buildApps } from "./build.ts";

const APPS_DIR = import.meta.dir;
const REPO_ROOT = dirname(APPS_DIR);
const COUNTER = "org.weft.demo.counter";
const NOTES = "org.weft.demo.notes";
const PUBLIC_KEY_FILE = join(APPS_DIR, "keys/weft-sign.pub");

let scratch: string;
let distDir: string;
let coldBuild: AppBuildResult[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "weft-apps-test-"));
  distDir = join(scratch, "dist");
  coldBuild = await buildApps({ distDir, log: () => {} });
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

function runCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([process.execPath, ...args], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("the build", () => {
  test("builds both apps into packages holding only what ships, and signs them", async () => {
    expect(coldBuild.map((r) => [r.id, r.status])).toEqual([
      [COUNTER, "built"],
      [NOTES, "built"],
    ]);
    for (const id of [COUNTER, NOTES]) {
      expect(await listFiles(join(distDir, id))).toEqual([
        "app.wasm",
        "signature.sig",
        "signer.pub",
        "ui/app.js",
        "ui/index.html",
        "ui/style.css",
        "wapp.toml",
      ]);
    }
  });

  test("the packages pass checkPackage and verify with the demo key", async () => {
    const publicKey = await readPublicKey(PUBLIC_KEY_FILE);
    for (const id of [COUNTER, NOTES]) {
      const dir = join(distDir, id);
      const report = await checkPackage(dir);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report.manifest?.package.id).toBe(id);
      expect(report.manifest?.package.version).toBe("0.1.0");
      expect((await verifyPackage(dir, { publicKey })).status).toBe("trusted");
    }
  });

  test("the manifests: names, version and capabilities of SPEC 7", async () => {
    const counter = (await checkPackage(join(distDir, COUNTER))).manifest;
    const notes = (await checkPackage(join(distDir, NOTES))).manifest;
    expect(counter?.package.name).toBe("Counter");
    expect(counter?.package.capabilities.map((c) => c.name)).toEqual([]);
    expect(notes?.package.name).toBe("Notes");
    expect(notes?.package.capabilities.map((c) => c.name)).toEqual(["fs:rw:app-data"]);
  });

  test("weft-pack check and verify print OK", () => {
    for (const id of [COUNTER, NOTES]) {
      const dir = join(distDir, id);
      const check = runCli(["services/pack/main.ts", "check", dir]);
      expect(check.stdout.trim()).toBe("OK");
      expect(check.code).toBe(0);
      const verify = runCli(["services/pack/main.ts", "verify", dir, "--key", PUBLIC_KEY_FILE]);
      expect(verify.stdout.trim()).toBe("OK");
      expect(verify.code).toBe(0);
    }
  });

  test("the components import weft:app notify and ipc and WASI 0.2 only, and export wasi:cli/run", async () => {
    for (const id of [COUNTER, NOTES]) {
      const { imports, exports } = await inspectComponent(await readFile(join(distDir, id, "app.wasm")));
      expect(imports.filter((name) => !name.startsWith("wasi:")).sort()).toEqual(["weft:app/ipc@0.1.0", "weft:app/notify@0.1.0"]);
      for (const name of imports.filter((n) => n.startsWith("wasi:"))) expect(name).toMatch(/^wasi:[a-z-]+\/[a-z-]+@0\.2\.\d+$/);
      // No network surface: the QuickJS engine brings cli, clocks, filesystem, io and random, nothing more.
      expect(imports.some((name) => name.startsWith("wasi:sockets/") || name.startsWith("wasi:http/"))).toBe(false);
      expect(imports).toContain("wasi:clocks/monotonic-clock@0.2.12");
      // `init` is componentize-qjs's own pre-initialisation entry point; WEFT only ever calls run.
      expect([...exports].sort()).toEqual(["init", "wasi:cli/run@0.2.12"]);
    }
  });

  test("a second build with nothing changed is skipped", async () => {
    const packageBefore = await readFile(join(distDir, COUNTER, "app.wasm"));
    const results = await buildApps({ distDir, log: () => {} });
    expect(results.map((r) => r.status)).toEqual(["up-to-date", "up-to-date"]);
    expect(results.map((r) => r.inputsHash)).toEqual(coldBuild.map((r) => r.inputsHash));
    // Untouched: a rebuild would differ, since QuickJS's snapshot is not bit-reproducible.
    expect(await readFile(join(distDir, COUNTER, "app.wasm"))).toEqual(packageBefore);
  });

  test("the cache follows content: a copy of the sources is up to date, a changed file rebuilds that app only", async () => {
    const appsCopy = join(scratch, "apps-copy");
    const copyDist = join(scratch, "dist-copy");
    await mkdir(appsCopy);
    for (const id of [COUNTER, NOTES]) await cp(join(APPS_DIR, id), join(appsCopy, id), { recursive: true });
    await cp(distDir, copyDist, { recursive: true });

    expect((await buildApps({ appsDir: appsCopy, distDir: copyDist, log: () => {} })).map((r) => r.status)).toEqual(["up-to-date", "up-to-date"]);

    const style = join(appsCopy, COUNTER, "ui/style.css");
    await writeFile(style, `${await readFile(style, "utf8")}\n/* changed */\n`);
    const results = await buildApps({ appsDir: appsCopy, distDir: copyDist, log: () => {} });
    expect(results.map((r) => [r.id, r.status])).toEqual([
      [COUNTER, "built"],
      [NOTES, "up-to-date"],
    ]);
    expect(await readFile(join(copyDist, COUNTER, "ui/style.css"), "utf8")).toContain("/* changed */");
    const publicKey = await readPublicKey(PUBLIC_KEY_FILE);
    expect((await verifyPackage(join(copyDist, COUNTER), { publicKey })).status).toBe("trusted");
    // No staging or retired directories are left behind.
    expect((await readdir(copyDist)).sort()).toEqual([".build-state.json", COUNTER, NOTES]);

    // A package modified after its build no longer verifies, so it is rebuilt although its sources did not change.
    await writeFile(join(copyDist, NOTES, "ui/index.html"), "tampered");
    const afterTamper = await buildApps({ appsDir: appsCopy, distDir: copyDist, only: [NOTES], log: () => {} });
    expect(afterTamper.map((r) => r.status)).toEqual(["built"]);
    expect((await verifyPackage(join(copyDist, NOTES), { publicKey })).status).toBe("trusted");

    const forced = await buildApps({ appsDir: appsCopy, distDir: copyDist, only: [COUNTER], force: true, log: () => {} });
    expect(forced.map((r) => [r.id, r.status])).toEqual([[COUNTER, "built"]]);
  });

  test("a source that does not compile fails with its file and line, leaving the old package in place", async () => {
    const appsCopy = join(scratch, "apps-broken");
    const brokenDist = join(scratch, "dist-broken");
    await mkdir(appsCopy);
    await cp(join(APPS_DIR, COUNTER), join(appsCopy, COUNTER), { recursive: true });
    await cp(distDir, brokenDist, { recursive: true });
    await writeFile(join(appsCopy, COUNTER, "src/app.ts"), "export const run = {\n  run(): void {\n    let = ;\n  },\n};\n");

    const failure = await buildApps({ appsDir: appsCopy, distDir: brokenDist, log: () => {} }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppBuildError);
    expect((failure as AppBuildError).appId).toBe(COUNTER);
    expect((failure as AppBuildError).message).toContain("src/app.ts:3:");
    const publicKey = await readPublicKey(PUBLIC_KEY_FILE);
    expect((await verifyPackage(join(brokenDist, COUNTER), { publicKey })).status).toBe("trusted");
  });

  test("the command line: unknown options are usage errors, unknown apps fail", () => {
    expect(runCli(["apps/build.ts", "--frobnicate"]).code).toBe(2);
    const unknown = runCli(["apps/build.ts", "org.example.nothing"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("org.example.nothing: no such app");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Running the guests

/** Thrown by the test host's recv-wait to end the guest's endless loop. */
class HostStop extends Error {}

/** What the test host's recv-wait blocks on: Atomics.wait sleeps in the kernel, it does not spin. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

interface GuestRun {
  /** In order: "ready", "recv", "recv-wait <timeout-ms>", "send <payload>". */
  readonly events: string[];
  /** The payloads sent, in order. */
  readonly sent: string[];
  readonly wallMs: number;
  readonly cpuMs: number;
}

interface RunOptions {
  /** Messages the UI sends, in order; all are waiting when the guest starts. */
  readonly incoming: readonly string[];
  /** Host directory preopened as /data (none: no preopen, as without fs:rw:app-data). */
  readonly dataDir?: string;
  /** Empty polls after the queue drained before the host stops the guest. */
  readonly idleLimit?: number;
}

/** A built component transpiled to JavaScript, ready to be instantiated many times. */
class TranspiledGuest {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();

  private constructor(
    private readonly dir: string,
    private readonly instantiate: (getCoreModule: (path: string) => Promise<WebAssembly.Module>, imports: object) => Promise<any>,
  ) {}

  static async load(wasmFile: string, outDir: string): Promise<TranspiledGuest> {
    const { files } = await transpile(new Uint8Array(await readFile(wasmFile)), { name: "app", instantiation: "async", noTypescript: true, quiet: true });
    for (const [name, data] of Object.entries(files)) {
      await mkdir(dirname(join(outDir, name)), { recursive: true });
      await writeFile(join(outDir, name), data);
    }
    const generated = await import(join(outDir, "app.js"));
    return new TranspiledGuest(outDir, generated.instantiate);
  }

  /** Runs a fresh instance until the host stops it. */
  async run(options: RunOptions): Promise<GuestRun> {
    const queue = [...options.incoming];
    const idleLimit = options.idleLimit ?? 2;
    const events: string[] = [];
    const sent: string[] = [];
    let idlePolls = 0;

    const wasi = new WASIShim({ sandbox: { preopens: options.dataDir === undefined ? {} : { "/data": options.dataDir }, env: {}, args: ["app"], enableNetwork: false } });
    const imports = {
      ...wasi.getImportObject(),
      "weft:app/notify": {
        ready() {
          events.push("ready");
        },
      },
      "weft:app/ipc": {
        send(payload: string) {
          events.push(`send ${payload}`);
          sent.push(payload);
        },
        recv(): string | undefined {
          events.push("recv");
          const message = queue.shift();
          if (message !== undefined) return message;
          if (++idlePolls > idleLimit) throw new HostStop("the test host ended the session");
          return undefined;
        },
        recvWait(timeoutMs: number): string | undefined {
          events.push(`recv-wait ${timeoutMs}`);
          const message = queue.shift();
          if (message !== undefined) return message;
          if (++idlePolls > idleLimit) throw new HostStop("the test host ended the session");
          // Nothing will arrive: wait (a slice of) the timeout in the kernel, as the runtime's host waits.
          Atomics.wait(sleeper, 0, 0, Math.min(timeoutMs, 20));
          return undefined;
        },
      },
    };
    const instance = await this.instantiate((path) => this.coreModule(path), imports);

    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    try {
      instance.run.run();
      throw new Error("run returned: the guest should serve until the host stops it");
    } catch (error) {
      if (!(error instanceof HostStop)) throw error;
    }
    const cpu = process.cpuUsage(cpuBefore);
    return { events, sent, wallMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  private coreModule(path: string): Promise<WebAssembly.Module> {
    let module = this.modules.get(path);
    if (module === undefined) {
      module = readFile(join(this.dir, path)).then((bytes) => WebAssembly.compile(bytes));
      this.modules.set(path, module);
    }
    return module;
  }
}

describe("the counter guest", () => {
  let guest: TranspiledGuest;
  beforeAll(async () => {
    guest = await TranspiledGuest.load(join(distDir, COUNTER, "app.wasm"), join(scratch, "counter-js"));
  });

  test("calls ready before anything else, then counts: increment ×3, get → {\"count\":3}", async () => {
    const run = await guest.run({ incoming: ["increment", "increment", "increment", "get"] });
    expect(run.events[0]).toBe("ready");
    expect(run.events[1]).toBe("recv-wait 30000");
    expect(run.sent).toEqual(['{"count":1}', '{"count":2}', '{"count":3}', '{"count":3}']);
  });

  test("goes below zero, resets, trims whitespace, and does not answer unknown messages", async () => {
    const run = await guest.run({ incoming: ["decrement", "  decrement \r\n", "hello", "", "INCREMENT", "get", "reset", "\tget"] });
    expect(run.sent).toEqual(['{"count":-1}', '{"count":-2}', '{"count":-2}', '{"count":0}', '{"count":0}']);
  });

  test("each instance starts at 0", async () => {
    expect((await guest.run({ incoming: ["get"] })).sent).toEqual(['{"count":0}']);
  });

  test("when idle it waits in the host with recv-wait: no polling, no sleeping, no spinning", async () => {
    const run = await guest.run({ incoming: [], idleLimit: 20 });
    // ready, then one long wait after another (each returned none here), then the wait the host ended.
    expect(run.events).toEqual(["ready", ...Array.from({ length: 21 }, () => "recv-wait 30000")]);
    expect(run.wallMs).toBeGreaterThan(380);
    // A guest that spun would use all of the core; this one only runs between waits.
    expect(run.cpuMs).toBeLessThan(run.wallMs * 0.3);
  });
});

describe("the notes guest", () => {
  let guest: TranspiledGuest;
  beforeAll(async () => {
    guest = await TranspiledGuest.load(join(distDir, NOTES, "app.wasm"), join(scratch, "notes-js"));
  });

  const freshDataDir = () => mkdtemp(join(scratch, "data-"));

  test("save:hello\\nworld writes a real newline to /data/notes.txt; load reads it back", async () => {
    const dir = await freshDataDir();
    const run = await guest.run({ incoming: ["save:hello\\nworld", "load"], dataDir: dir });
    expect(run.events[0]).toBe("ready");
    expect(run.sent).toEqual(['{"text":"hello\\nworld"}', '{"text":"hello\\nworld"}']);
    expect(JSON.parse(run.sent[1] ?? "").text).toBe("hello\nworld");
    expect(await readFile(join(dir, "notes.txt"), "utf8")).toBe("hello\nworld");
  });

  test("load of a missing file is empty text", async () => {
    const run = await guest.run({ incoming: ["load"], dataDir: await freshDataDir() });
    expect(run.sent).toEqual(['{"text":""}']);
  });

  test("load reads a file written by someone else, multi-byte UTF-8 included", async () => {
    const dir = await freshDataDir();
    const text = "Grüße, 日本語, emoji 😀\nsecond line\n";
    await writeFile(join(dir, "notes.txt"), text);
    const run = await guest.run({ incoming: ["load"], dataDir: dir });
    expect(JSON.parse(run.sent[0] ?? "")).toEqual({ text });
  });

  test("a file that is not UTF-8 loads as empty text, as in the reference", async () => {
    const dir = await freshDataDir();
    await writeFile(join(dir, "notes.txt"), new Uint8Array([0x61, 0xff, 0x62]));
    expect((await guest.run({ incoming: ["load"], dataDir: dir })).sent).toEqual(['{"text":""}']);
  });

  test("replies are valid JSON whatever the text holds; save truncates; the message is trimmed", async () => {
    const dir = await freshDataDir();
    await writeFile(join(dir, "notes.txt"), "a much longer old text that must not survive the save");
    const text = 'quote " backslash \\ tab \t bell \u0007 — 😀';
    const run = await guest.run({ incoming: [`  save:${text}   \n`, "load"], dataDir: dir });
    expect(run.sent).toHaveLength(2);
    for (const reply of run.sent) expect(JSON.parse(reply)).toEqual({ text });
    expect(run.sent[0]).toContain("\\u0007"); // the reference sent control characters raw: invalid JSON
    expect(await readFile(join(dir, "notes.txt"), "utf8")).toBe(text);
  });

  test("without the /data preopen, load is empty and save answers an error", async () => {
    const run = await guest.run({ incoming: ["load", "save:x"] });
    expect(run.sent[0]).toBe('{"text":""}');
    const reply = JSON.parse(run.sent[1] ?? "");
    expect(Object.keys(reply)).toEqual(["error"]);
    expect(reply.error).toContain("/data");
  });

  test("a failing write answers the reason", async () => {
    const dir = await freshDataDir();
    await mkdir(join(dir, "notes.txt")); // a directory where the file should be
    const reply = JSON.parse((await guest.run({ incoming: ["save:x"], dataDir: dir })).sent[0] ?? "");
    expect(Object.keys(reply)).toEqual(["error"]);
    expect(reply.error.length).toBeGreaterThan(0);
  });

  test("unknown messages get no reply", async () => {
    const run = await guest.run({ incoming: ["hello", "save", "LOAD", "loading"], dataDir: await freshDataDir() });
    expect(run.sent).toEqual([]);
  });
});
