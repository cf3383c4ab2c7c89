/**
 * weft-runtime end to end: real runtime processes on a private dbus-daemon, running the signed demo apps
 * (apps/dist, built by `bun apps/build.ts`) under Wasmtime; the test's connection is their supervisor and UI end.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { buildApps } from "../../apps/build.ts";
import { join } from "node:path";
import { connectBus, contractPath, isBusError } from "../common/bus/index.ts";
import { expectIntrospectionMatchesContract } from "../../testing/bus.ts";
import { closeFd, makeSocketPair } from "../common/bus/libc.ts";
import { createLogger } from "../common/daemon/log.ts";
import { FrameKind, SessionChannel } from "../common/channel/session-channel.ts";
import { RuntimeHandle } from "../appd/children.ts";
import { memfdCreate } from "../common/os/libc.ts";
import { sealedContent } from "../common/os/sealed-content.ts";
import type { PackageLoadError } from "../common/package/verified-package.ts";
import { encodePackageRecord } from "../../protocol/package-record.ts";
import { CHILD_PACKAGE_FD, sessionChildArgv } from "../../protocol/session-child.ts";
import { appDataDir } from "../common/os/paths.ts";
import { signPackage } from "../common/package/signing.ts";
import { writeTestPackage } from "../../testing/components.ts";
import { rustGuest } from "./wasmtime/fixtures/fixtures.ts";
import { DEMO_DIST, RuntimeWorld, until } from "../../testing/runtime.ts";
import { AppD, errorName, FilePortal, FilePortal1, Runtime, Runtime1 } from "../../protocol/dbus/index.ts";
import { assertAppId } from "../../protocol/app-id.ts";

const COUNTER = assertAppId("org.weft.demo.counter");
const NOTES = assertAppId("org.weft.demo.notes");
let world: RuntimeWorld;

beforeAll(async () => {
  world = new RuntimeWorld();
  await world.start();
  await world.install(join(DEMO_DIST, COUNTER));
  await world.install(join(DEMO_DIST, NOTES));
});
afterAll(() => world.close());

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

describe("counter", () => {
  test("increment ×3 then get → {\"count\":3}; the contract matches what busctl sees", async () => {
    const runtime = await world.spawn(COUNTER, 1);
    await runtime.waitForState("running");
    await expectIntrospectionMatchesContract({ address: world.bus.address, destination: runtime.busName, path: Runtime.path, contract: contractPath(Runtime1.name) });
    const messages = await runtime.bindUi();
    for (const command of ["increment", "increment", "increment", "get"]) await runtime.post(command);
    await until(() => messages.length === 4, "four replies");
    expect(messages.at(-1)).toBe('{"count":3}');
    expect(await runtime.client.get("GrantedCapabilities")).toEqual([]);
    await runtime.stop("test over");
    expect(await runtime.exitCode).toBe(1); // stopped, not returned: the counter loops forever
  });

  test("only the UI end may post; another client neither posts nor sees the session's messages", async () => {
    const runtime = await world.spawn(COUNTER, 2);
    await runtime.waitForState("running");
    const messages = await runtime.bindUi();
    const intruder = await connectBus({ address: world.bus.address });
    const overheard: unknown[] = [];
    try {
      const asIntruder = intruder.client(contractPath(Runtime1.name), runtime.busName, { path: Runtime.path });
      await asIntruder.on("Message", (payload) => overheard.push(payload));
      expect(isBusError(await failure(asIntruder.call("Post", "increment")), errorName(Runtime1, "AccessDenied"))).toBe(true);
      expect(isBusError(await failure(asIntruder.call("BindUi", intruder.uniqueName)), errorName(Runtime1, "AccessDenied"))).toBe(true);
      expect(isBusError(await failure(asIntruder.call("Stop", "x")), errorName(Runtime1, "AccessDenied"))).toBe(true);
      await runtime.post("get");
      await until(() => messages.length === 1, "the reply");
      expect(messages).toEqual(['{"count":0}']); // the intruder's increment never arrived
      await Bun.sleep(100);
      expect(overheard).toEqual([]);
      expect(runtime.logLines.some((l) => l.msg === "post refused: caller is not the ui end")).toBe(true);
    } finally {
      await intruder.close();
      await runtime.stop();
      await runtime.exitCode;
    }
  });

  test("when the supervisor leaves the bus, the runtime ends its session (no orphans)", async () => {
    const supervisor = await connectBus({ address: world.bus.address });
    const runtime = await world.spawn(COUNTER, 3, { supervisor: supervisor.uniqueName });
    await runtime.waitForState("running");
    await supervisor.close();
    expect(await runtime.exitCode).toBe(1);
    expect(runtime.logLines.some((l) => l.reason === "the supervisor left the bus")).toBe(true);
  });

  test("a supervisor that is not on the bus: the runtime refuses to start (exit 3)", async () => {
    const runtime = await world.spawn(COUNTER, 4, { supervisor: ":1.9999" });
    expect(await runtime.exitCode).toBe(3);
  });
});

describe("the session channel (a windowed session's UI end)", () => {
  test("page messages cross the channel only: Hello attaches it, each Post is answered, the replies come back on it; BindUi is refused", async () => {
    const [runtimeEnd, ourEnd] = makeSocketPair();
    const runtime = new RuntimeHandle({ package: await world.verified(COUNTER), sessionId: 40n, supervisor: world.supervisor, env: world.env, channelFd: runtimeEnd });
    closeFd(runtimeEnd);
    const channel = SessionChannel.fromFd(ourEnd, createLogger("test", { sink: () => {} }));
    const frames: { kind: number; payload: string }[] = [];
    channel.onFrame((frame) => frames.push(frame));
    await runtime.waitForState("running");
    const refused = await failure(runtime.client.call("BindUi", world.supervisor.uniqueName));
    expect(isBusError(refused, errorName(Runtime1, "AccessDenied"))).toBe(true);
    // Before Hello a Post is refused (and answered), never queued for the guest.
    channel.send(FrameKind.Post, "increment");
    await until(() => frames.length === 1, "the answer to an early Post");
    expect(frames[0]).toEqual({ kind: FrameKind.Posted, payload: "AccessDenied: the session channel posts only after Hello" });
    channel.send(FrameKind.Hello);
    for (const command of ["increment", "increment", "get"]) channel.send(FrameKind.Post, command);
    await until(() => frames.some((f) => f.kind === FrameKind.Message && f.payload === '{"count":2}'), "the count over the channel");
    expect(frames.filter((f) => f.kind === FrameKind.Posted).map((f) => f.payload)).toEqual(["AccessDenied: the session channel posts only after Hello", "", "", ""]);
    // The app-shell gone (its end closed): the session goes on; messages are held for no one.
    channel.close();
    await runtime.stop();
    expect(await runtime.exitCode).toBe(1);
  });

  test("a --channel-fd that is not an open socket: the runtime refuses to start (exit 3) and says why", async () => {
    const lines: string[] = [];
    const devNull = openSync("/dev/null", "r");
    const runtime = new RuntimeHandle({ package: await world.verified(COUNTER), sessionId: 41n, supervisor: world.supervisor, env: world.env, channelFd: devNull, onLogLine: (line) => lines.push(line) });
    closeFd(devNull);
    expect(await runtime.exitCode).toBe(3);
    expect(lines.join("\n")).toContain("--channel-fd 4 is not an open socket");
  });
});

describe("notes", () => {
  test("save:hello, then a new runtime process loads {\"text\":\"hello\"} from /data", async () => {
    const first = await world.spawn(NOTES, 10);
    await first.waitForState("running");
    const saved = await first.bindUi();
    await first.post("save:hello");
    await until(() => saved.length === 1, "the save reply");
    expect(JSON.parse(saved[0]!)).toEqual({ text: "hello" });
    await first.stop();
    await first.exitCode;
    expect(readFileSync(join(appDataDir(NOTES, world.env), "notes.txt"), "utf8")).toBe("hello");

    const second = await world.spawn(NOTES, 11);
    await second.waitForState("running");
    const loaded = await second.bindUi();
    await second.post("load");
    await until(() => loaded.length === 1, "the load reply");
    expect(JSON.parse(loaded[0]!)).toEqual({ text: "hello" });
    await second.stop();
    await second.exitCode;
  });

  test("without fs:rw:app-data, save answers {\"error\":…} and nothing is written", async () => {
    const id = "org.weft.demo.notes";
    const isolated = new RuntimeWorld();
    await isolated.start();
    try {
      const variant = await isolated.variant(id, "notes-no-data", (text) => text.replace(/capabilities\s*=\s*\[[^\]]*\]/, "capabilities = []"));
      await isolated.install(variant);
      const runtime = await isolated.spawn(id, 20);
      await runtime.waitForState("running");
      const replies = await runtime.bindUi();
      await runtime.post("save:secret");
      await until(() => replies.length === 1, "the save reply");
      expect(JSON.parse(replies[0]!)).toHaveProperty("error");
      expect(existsSync(appDataDir(assertAppId(id), isolated.env))).toBe(false);
      await runtime.stop();
      await runtime.exitCode;
    } finally {
      await isolated.close();
    }
  });
});

describe("fetch from a real guest", () => {
  test("the guest fetches its capability's host, and is refused another host which never sees a request", async () => {
    const hits: string[] = [];
    const otherHits: string[] = [];
    const allowed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (hits.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("x-weft-test")}`), new Response("hello guest", { headers: { "content-type": "text/plain; charset=utf-8" } })) });
    const other = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (otherHits.push(new URL(req.url).pathname), new Response("leak")) });
    try {
      const id = "org.weft.test.fetcher";
      const appsDir = join(world.root, "fetcher-src");
      cpSync(join(import.meta.dir, "fixtures/apps", id), join(appsDir, id), { recursive: true });
      const manifest = join(appsDir, id, "wapp.toml");
      writeFileSync(manifest, readFileSync(manifest, "utf8").replace("capabilities = []", `capabilities = ["net:fetch:localhost:${allowed.port}"]`));
      const [built] = await buildApps({ appsDir, distDir: join(world.root, "fetcher-dist"), keyFile: world.testKey.secretFile, log: () => {} });
      await world.install(built!.packageDir);

      const runtime = await world.spawn(id, 50);
      await runtime.waitForState("running");
      const replies = await runtime.bindUi();
      await runtime.post(`http://localhost:${allowed.port}/greeting`);
      await until(() => replies.length === 1, "the fetch reply");
      expect(JSON.parse(replies[0]!)).toEqual({ status: 200, contentType: "text/plain", body: "hello guest" });
      expect(hits).toEqual(["GET /greeting 1"]);

      await runtime.post(`http://127.0.0.1:${other.port}/steal`);
      await until(() => replies.length === 2, "the refusal");
      expect(JSON.parse(replies[1]!).error).toContain("needs a capability this app does not declare: net:fetch:*");
      expect(otherHits).toEqual([]);
      expect(runtime.logLines.some((l) => l.msg === "fetch denied")).toBe(true);
      await runtime.stop();
      await runtime.exitCode;
    } finally {
      allowed.stop(true);
      other.stop(true);
    }
  });
});

describe("memory", () => {
  test("a QuickJS guest that runs out of memory ends out-of-memory, naming its limit, not as a wasm `unreachable`", async () => {
    const id = "org.weft.test.hog";
    const appsDir = join(world.root, "hog-src");
    cpSync(join(import.meta.dir, "fixtures/apps", id), join(appsDir, id), { recursive: true });
    const [built] = await buildApps({ appsDir, distDir: join(world.root, "hog-dist"), keyFile: world.testKey.secretFile, log: () => {} });
    await world.install(built!.packageDir);

    const runtime = await world.spawn(id, 70);
    await runtime.waitForState("running");
    await runtime.bindUi();
    await runtime.post("hog");
    expect(await runtime.exitCode).toBe(1);
    const exited = runtime.logLines.find((l) => l.msg === "guest exited");
    expect(exited?.status).toBe("out-of-memory");
    expect(exited?.message).toMatch(
      /^out of memory: the guest asked for \d+(\.\d)? MiB of linear memory, over its limit of 256 MiB, and then failed \(wasm trap: wasm `unreachable` instruction executed\)$/,
    );
  }, 60_000);
});

describe("files through the portal, from a real guest", () => {
  test("with fs:rw:xdg-documents the guest writes, reads and lists its granted folder; escapes and revoked grants fail", async () => {
    const id = "org.weft.test.filer";
    const documents = join(world.root, "Documents");
    mkdirSync(documents);
    writeFileSync(join(world.root, "secret.txt"), "outside the grant");
    const portal = Bun.spawn([process.execPath, join(import.meta.dir, "../file-portal/main.ts")], { env: world.env, stdout: "ignore", stderr: "ignore" });
    const appd = await connectBus({ address: world.bus.address }); // the test plays appd: only it may grant
    try {
      await appd.requestName(AppD.busName);
      const grant = (member: string, ...body: unknown[]) =>
        appd.call({ destination: FilePortal.busName, path: "/org/weft/FilePortal1", interface: FilePortal1.name, member, signature: member === "RegisterGrants" ? "ta(ssb)" : "t", body });
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await grant("RegisterGrants", 60n, [["xdg-documents", documents, true]]);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error; // the portal is still starting
          await Bun.sleep(50);
        }
      }
      const appsDir = join(world.root, "filer-src");
      cpSync(join(import.meta.dir, "fixtures/apps", id), join(appsDir, id), { recursive: true });
      const [built] = await buildApps({ appsDir, distDir: join(world.root, "filer-dist"), keyFile: world.testKey.secretFile, log: () => {} });
      await world.install(built!.packageDir);

      const runtime = await world.spawn(id, 60);
      await runtime.waitForState("running");
      const replies = await runtime.bindUi();
      const ask = async (command: string) => {
        const before = replies.length;
        await runtime.post(command);
        await until(() => replies.length > before, `the answer to ${command}`);
        return JSON.parse(replies.at(-1)!);
      };
      expect(await ask("write /xdg/documents/note.txt hello portal")).toEqual({ ok: "written" });
      expect(readFileSync(join(documents, "note.txt"), "utf8")).toBe("hello portal");
      expect(await ask("read /xdg/documents/note.txt")).toEqual({ ok: "hello portal" });
      expect(await ask("list /xdg/documents")).toEqual({ ok: ["note.txt:file"] });
      expect((await ask("read /xdg/documents/../../secret.txt")).error).toBeString();
      symlinkSync(join(world.root, "secret.txt"), join(documents, "link.txt"));
      expect((await ask("read /xdg/documents/link.txt")).error).toBeString();
      await grant("RevokeGrants", 60n);
      expect((await ask("read /xdg/documents/note.txt")).error).toBeString();
      await runtime.stop();
      await runtime.exitCode;
    } finally {
      await appd.close();
      portal.kill();
      await portal.exited;
    }
  });
});

describe("a component from another toolchain", () => {
  test("a Rust wasm32-wasip2 command runs under weft-runtime: its output is logged with app and session, it sees no environment, no host files, no network", async () => {
    const id = "org.weft.test.rust";
    const dir = await writeTestPackage(join(world.root, "rust-pkg"), { manifest: { package: { id } }, component: await rustGuest() });
    await signPackage(dir, world.testKey.secret);
    await world.install(dir);
    const runtime = await world.spawn(id, 40);
    expect(await runtime.exitCode).toBe(0); // run returned ok
    const guestLines = runtime.logLines.filter((l) => l.msg === "guest stdout" || l.msg === "guest stderr");
    expect(guestLines.every((l) => l.app === id && l.session === "40")).toBe(true);
    const stdout = guestLines.filter((l) => l.msg === "guest stdout").map((l) => l.line);
    expect(stdout).toContain("hello from rust");
    expect(stdout).toContain("env: ");
    expect(stdout).toContain("args: 0");
    expect(stdout.find((l: string) => l.startsWith("outside: "))).toStartWith("outside: denied");
    expect(stdout.find((l: string) => l.startsWith("net: "))).toStartWith("net: denied");
    expect(guestLines.some((l) => l.msg === "guest stderr" && l.level === "warn" && l.line === "rust stderr line")).toBe(true);
  });
});

describe("refusals", () => {
  test("a package that is not installed, or modified after install, is refused before any runtime starts", async () => {
    const absent = await failure(world.verified("org.weft.demo.absent"));
    expect([absent.name, (absent as PackageLoadError).reason]).toEqual(["PackageLoadError", "not-installed"]);

    const tampered = new RuntimeWorld();
    await tampered.start();
    try {
      await tampered.install(join(DEMO_DIST, COUNTER));
      await Bun.write(join(tampered.home, ".local/share/weft/apps", COUNTER, "ui/index.html"), "<script>changed()</script>");
      const refused = (await failure(tampered.verified(COUNTER))) as PackageLoadError;
      expect(refused.reason).toBe("tampered");
      expect(refused.message).toContain("modified after it was signed");
    } finally {
      await tampered.close();
    }
  }, 30_000);

  test("a component changed after its supervisor verified the package never runs (exit 3), and the log says which file", async () => {
    const changing = new RuntimeWorld();
    await changing.start();
    try {
      await changing.install(join(DEMO_DIST, COUNTER));
      const pkg = await changing.verified(COUNTER);
      const module = join(pkg.dir, pkg.manifest.runtime.module);
      writeFileSync(module, Buffer.concat([readFileSync(module), Buffer.from("appended after verification")]));
      const lines: string[] = [];
      const runtime = new RuntimeHandle({ package: pkg, sessionId: 32n, supervisor: changing.supervisor, env: changing.env, onLogLine: (line) => lines.push(line) });
      expect(await runtime.exitCode).toBe(3);
      expect(lines.join("\n")).toContain(`${module} changed after the package was verified; refusing to run it`);
    } finally {
      await changing.close();
    }
  }, 30_000);

  /** weft-runtime started with `fd` as its package record, as a careless or hostile supervisor could start it. */
  async function runWithRecord(fd: number, appId = COUNTER): Promise<{ code: number; log: string }> {
    const argv = sessionChildArgv({ appId, sessionId: 33n, supervisor: world.supervisor.uniqueName, packageFd: CHILD_PACKAGE_FD });
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts"), ...argv], { env: world.env, stdio: ["ignore", "ignore", "pipe", fd] });
    closeFd(fd);
    const log = await new Response(child.stderr as ReadableStream).text();
    return { code: await child.exited, log };
  }

  test("a package record that is not sealed, not a record, about another app or naming a path outside the package: exit 3, saying why", async () => {
    const { record } = await world.verified(COUNTER);
    const sealed = (value: unknown) => sealedContent("record", new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value)));
    const unsealed = memfdCreate("unsealed");
    writeFileSync(unsealed, encodePackageRecord(record));
    const cases: [number, string][] = [
      [unsealed, "must come as a memfd sealed against writing"],
      [openSync("/dev/null", "r"), "must come as a memfd sealed against writing"],
      [sealed("not json {"), "is not UTF-8 JSON"],
      [sealed({ ...record, appId: NOTES }), `is about ${NOTES}, not ${COUNTER}`],
      [sealed({ ...record, files: [{ path: "../../etc/passwd", size: 1, sha256: "0".repeat(64) }] }), "files.0.path must be a relative path inside the package"],
      [sealed({ ...record, files: [...record.files, record.files[0]] }), "twice"],
      [sealed({ ...record, dir: "relative/dir" }), "dir must be an absolute path"],
      [sealed({ ...record, extra: true }), "extra"],
    ];
    for (const [fd, problem] of cases) {
      const { code, log } = await runWithRecord(fd);
      expect([code, log]).toEqual([3, expect.stringContaining(problem)]);
      expect(log).toContain("the package record on descriptor 3 is refused");
    }
    // A record without its manifest among the signed files is no package either.
    const noManifest = await runWithRecord(sealed({ ...record, files: record.files.filter((f) => f.path !== "wapp.toml") }));
    expect([noManifest.code, noManifest.log]).toEqual([3, expect.stringContaining("wapp.toml is not among the signed files")]);
  }, 30_000);
});
