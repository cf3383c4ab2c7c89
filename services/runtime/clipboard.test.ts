/**
 * weft:app/clipboard from a real guest: the org.weft.test.clipper fixture (copy/paste on its UI's command) under
 * real weft-runtime processes, with the real weft-compositor (headless) on the same private bus, and Debian's
 * wl-clipboard as the Wayland application on the other side of the clipboard.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApps } from "../../apps/build.ts";
import { closeFd } from "../common/bus/index.ts";
import { takeSealedContent, withSealedContent } from "../common/os/sealed-content.ts";
import { RuntimeWorld, until, type RuntimeProcess } from "../../testing/runtime.ts";
import { Compositor, Compositor1, Shell } from "../../protocol/dbus/index.ts";

const FIXTURE = "org.weft.test.clipper";
const READER = "org.weft.test.clipreader"; // the fixture with sys:clipboard:read only
const WRITER = "org.weft.test.clipwriter"; // the fixture with sys:clipboard:write only
const COMPOSITOR = { destination: Compositor.busName, path: "/org/weft/Compositor1", interface: Compositor1.name };
const TEXT = "text/plain;charset=utf-8";

let world: RuntimeWorld;
let compositor: Bun.Subprocess<"ignore", "ignore", "pipe"> | undefined;
let compositorLog: Promise<string> | undefined;
let runtimeDir: string;
let nextSession = 200;

beforeAll(async () => {
  world = new RuntimeWorld();
  await world.start();
  runtimeDir = mkdtempSync(join(tmpdir(), "weft-clipboard-xdg-"));
  // Three packages from one fixture: all capabilities, read only, write only.
  const appsDir = join(world.root, "clipper-src");
  const variants: [string, string[]][] = [
    [FIXTURE, ["sys:clipboard:read", "sys:clipboard:write"]],
    [READER, ["sys:clipboard:read"]],
    [WRITER, ["sys:clipboard:write"]],
  ];
  for (const [id, capabilities] of variants) {
    cpSync(join(import.meta.dir, "fixtures/apps", FIXTURE), join(appsDir, id), { recursive: true });
    const manifest = join(appsDir, id, "wapp.toml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8")
        .replace(`id = "${FIXTURE}"`, `id = "${id}"`)
        .replace(/capabilities = \[[^\]]*\]/, `capabilities = ${JSON.stringify(capabilities)}`),
    );
  }
  const built = await buildApps({ appsDir, distDir: join(world.root, "clipper-dist"), keyFile: world.testKey.secretFile, log: () => {} });
  for (const result of built) await world.install(result.packageDir);
});

afterAll(async () => {
  await stopCompositor();
  await world.close();
  rmSync(runtimeDir, { recursive: true, force: true });
});

/**
 * The real weft-compositor on the runtime world's bus, as `weft session` runs it. The test's own connection,
 * which reads and sets the clipboard beside the guest, plays the shell (the compositor's clipboard is the
 * shell's and the runtimes').
 */
async function startCompositor(): Promise<void> {
  if ((await world.supervisor.nameOwner(Shell.roleName)) === undefined) await world.supervisor.requestName(Shell.roleName);
  compositor = Bun.spawn([process.execPath, join(import.meta.dir, "../compositor/main.ts")], {
    env: { ...process.env, WEFT_BUS_ADDRESS: world.bus.address, WLR_BACKENDS: "headless", WLR_RENDERER: "pixman", XDG_RUNTIME_DIR: runtimeDir, WAYLAND_DISPLAY: "", DISPLAY: "" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  compositorLog = new Response(compositor.stderr).text();
  const deadline = Date.now() + 15_000;
  while (!(await world.supervisor.nameHasOwner(COMPOSITOR.destination))) {
    if (compositor.exitCode !== null) throw new Error(`weft-compositor exited ${compositor.exitCode}: ${await compositorLog}`);
    if (Date.now() > deadline) throw new Error("weft-compositor did not start");
    await Bun.sleep(50);
  }
}

async function stopCompositor(): Promise<void> {
  if (compositor === undefined) return;
  compositor.kill("SIGTERM");
  await compositor.exited;
  compositor = undefined;
}

const compositorCall = (member: string, signature: string, body: unknown[]) => world.supervisor.call({ ...COMPOSITOR, member, signature, body });
/** The selection's bytes (ClipboardGet answers with a sealed memfd). */
const clipboardGet = async () => Buffer.from(takeSealedContent(((await compositorCall("ClipboardGet", "s", [TEXT])) as [number])[0], 1 << 30));
/** ClipboardSet with `data` in a sealed memfd. */
const clipboardSet = (data: Uint8Array, mime = TEXT) => withSealedContent("test-clipboard", data, (fd) => compositorCall("ClipboardSet", "hs", [fd, mime]));

/** Starts a Wayland client (wl-clipboard) as an application of its own session. */
async function waylandClient(argv: string[]) {
  const [fd] = (await compositorCall("OpenClient", "st", ["application", BigInt(nextSession++)])) as [number];
  const child = Bun.spawn(argv, {
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, WAYLAND_SOCKET: "3", WAYLAND_DISPLAY: "", DISPLAY: "" },
    stdio: ["ignore", "pipe", "pipe", fd],
  });
  closeFd(fd); // the child holds it
  return child;
}

/** Runs a Wayland client to its end; resolves with its stdout (it must exit 0). */
async function wayland(argv: string[]): Promise<string> {
  const child = await waylandClient(argv);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${stderr}`);
  return stdout;
}

/** A running clipper session and a function that sends it a command and returns its parsed answer. */
async function clipper(id: string): Promise<{ runtime: RuntimeProcess; ask(command: string): Promise<{ ok?: string; error?: string }> }> {
  const runtime = await world.spawn(id, nextSession++);
  await runtime.waitForState("running");
  const replies = await runtime.bindUi();
  return {
    runtime,
    ask: async (command) => {
      const before = replies.length;
      await runtime.post(command);
      await until(() => replies.length > before, `the answer to ${command}`);
      return JSON.parse(replies.at(-1)!);
    },
  };
}

describe("weft:app/clipboard", () => {
  test("without a compositor on the bus, read and write fail saying so", async () => {
    const { runtime, ask } = await clipper(FIXTURE);
    expect((await ask("paste")).error).toContain("compositor (org.weft.Compositor1) is not running");
    expect((await ask("copy nothing")).error).toContain("compositor (org.weft.Compositor1) is not running");
    await runtime.stop();
    await runtime.exitCode;
  });

  test("with both capabilities: the guest's copy reaches ClipboardGet and wl-paste; ClipboardSet and wl-copy reach its paste", async () => {
    await startCompositor();
    const { runtime, ask } = await clipper(FIXTURE);
    expect((await ask("paste")).error).toBe("the clipboard is empty");

    expect(await ask("copy copied by a guest — ünïcødé ✓")).toEqual({ ok: "copied" });
    expect((await clipboardGet()).toString()).toBe("copied by a guest — ünïcødé ✓");
    expect(await wayland(["wl-paste", "--no-newline"])).toBe("copied by a guest — ünïcødé ✓");

    await clipboardSet(Buffer.from("set on the bus"));
    expect(await ask("paste")).toEqual({ ok: "set on the bus" });

    // wl-copy serves its copy until replaced; --foreground keeps it ours to stop.
    const owner = await waylandClient(["wl-copy", "--foreground", "copied by a Wayland app"]);
    try {
      await until(async () => (await clipboardGet().catch(() => "")).toString() === "copied by a Wayland app", "wl-copy's copy", 20_000, { everyMs: 25 });
      expect(await ask("paste")).toEqual({ ok: "copied by a Wayland app" });
    } finally {
      owner.kill("SIGKILL");
      await owner.exited;
    }

    await clipboardSet(Buffer.from([0x41, 0xff, 0x42]));
    expect((await ask("paste")).error).toContain("not valid UTF-8");
    await clipboardSet(Buffer.from("<b>x</b>"), "text/html");
    expect((await ask("paste")).error).toContain("holds no text");

    expect(await ask("copy ")).toEqual({ ok: "copied" });
    expect(await ask("paste")).toEqual({ ok: "" });
    await runtime.stop();
    await runtime.exitCode;
    expect(runtime.logLines.some((l) => l.msg === "capability denied")).toBe(false);
  });

  test("without sys:clipboard:read the paste is denied (and logged); without sys:clipboard:write the copy is, and the clipboard keeps its contents", async () => {
    if (compositor === undefined) await startCompositor();
    await clipboardSet(Buffer.from("secret on the clipboard"));

    const writer = await clipper(WRITER);
    const denied = await writer.ask("paste");
    expect(denied.error).toContain("needs the capability sys:clipboard:read");
    expect(denied.ok).toBeUndefined();
    expect(await writer.ask("copy from the writer")).toEqual({ ok: "copied" });
    expect(writer.runtime.logLines.some((l) => l.msg === "capability denied" && l.call === "weft:app/clipboard.read")).toBe(true);

    const reader = await clipper(READER);
    expect((await reader.ask("copy overwrite attempt")).error).toContain("needs the capability sys:clipboard:write");
    expect(await reader.ask("paste")).toEqual({ ok: "from the writer" });
    expect(reader.runtime.logLines.some((l) => l.msg === "capability denied" && l.call === "weft:app/clipboard.write")).toBe(true);

    for (const { runtime } of [writer, reader]) {
      await runtime.stop();
      await runtime.exitCode;
    }
  });
});
