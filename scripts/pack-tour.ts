/**
 * The package-manager tour (the main job before the desktop session existed; now `weft session --demo` is):
 * on a fresh private HOME, store and trust
 * store under `out/pack-tour-<time>/` (or `--out <dir>`), it walks through the package manager with the real
 * `weft-pack`, then installs the signed demo apps and runs them under the real `weft-runtime` on a private
 * bus: counter counts to 3, notes saves a note that a new runtime process reads back. Every step checks what
 * happened and records its timing in `summary.json`; the first step that does not do what it should fails
 * the demo.
 */

import { cpSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { componentEmbed, componentNew, parse } from "@bytecodealliance/jco";
import { connectBus, type BusConnection } from "../services/common/bus/index.ts";
import { startPrivateBus, type PrivateBus } from "../services/common/bus/private-bus.ts";
import { RuntimeHandle } from "../services/appd/children.ts";
import { openVerifiedPackage } from "../services/common/package/verified-package.ts";
import { assertAppId } from "../protocol/app-id.ts";

const repo = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = resolve(values.out ?? join(repo, "out", `pack-tour-${new Date().toISOString().replace(/[:.]/g, "-")}`));
const home = join(outDir, "home");
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, WEFT_SYSCONFDIR: join(outDir, "etc") };
const demoKey = join(repo, "apps/keys/weft-sign.key");
const demoPub = join(repo, "apps/keys/weft-sign.pub");
const pkg = join(outDir, "src/org.weft.demo.hello");

interface Step {
  name: string;
  ms: number;
  command?: string;
  output: string;
}
const steps: Step[] = [];

async function step(name: string, body: () => Promise<{ command?: string; output: string }>): Promise<string> {
  const started = performance.now();
  try {
    const { command, output } = await body();
    const ms = performance.now() - started;
    steps.push({ name, ms, command, output });
    console.log(`  ok  ${name.padEnd(58)} ${ms.toFixed(0).padStart(5)} ms`);
    return output;
  } catch (error) {
    console.log(`  FAIL ${name}: ${(error as Error).message}`);
    writeSummary(false);
    process.exit(1);
  }
}

/** Runs weft-pack and demands the expected exit code (and text, if given). */
async function pack(args: string[], expectCode = 0, expectText?: string) {
  const child = Bun.spawn([process.execPath, join(repo, "services/pack/main.ts"), ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const output = (stdout + stderr).trim();
  if (code !== expectCode) throw new Error(`weft-pack ${args.join(" ")} exited ${code}, expected ${expectCode}:\n${output}`);
  if (expectText !== undefined && !output.includes(expectText)) throw new Error(`expected ${JSON.stringify(expectText)} in:\n${output}`);
  return { command: `weft-pack ${args.join(" ")}`, output };
}

function writeSummary(ok: boolean) {
  writeFileSync(join(outDir, "summary.json"), JSON.stringify({ ok, outDir, steps: steps.map(({ name, ms, command }) => ({ name, ms, command })) }, null, 2));
}

console.log(`WEFT package-manager tour → ${outDir}\n`);
mkdirSync(home, { recursive: true });

await step("build the hello component (WAT → component with jco)", async () => {
  cpSync(join(repo, "scripts/demo/hello"), pkg, { recursive: true });
  const core = await parse(readFileSync(join(repo, "scripts/demo/hello.wat"), "utf8"));
  const embedded = await componentEmbed({ binary: core, witSource: readFileSync(join(repo, "scripts/demo/hello.wit"), "utf8"), world: "weft:demo-hello/hello" });
  const component = await componentNew(embedded);
  writeFileSync(join(pkg, "app.wasm"), component);
  return { output: `${component.length} bytes` };
});
await step("check: manifest, paths, component imports vs capabilities", () => pack(["check", pkg], 0, "OK"));
await step("sign with the demo key", () => pack(["sign", pkg, "--key", demoKey], 0, "signed:"));
await step("verify against an empty trust store → untrusted", () => pack(["verify", pkg], 1, "not trusted"));
await step("trust the demo key (private trust store)", async () => {
  mkdirSync(join(home, ".config/weft/trusted.d"), { recursive: true });
  cpSync(demoPub, join(home, ".config/weft/trusted.d/weft-demo.pub"));
  return { output: "copied apps/keys/weft-sign.pub into trusted.d" };
});
await step("verify → OK", () => pack(["verify", pkg], 0, "OK"));
await step("install (atomic, verified staged copy)", () => pack(["install", pkg], 0, "installed org.weft.demo.hello 0.1.0"));
await step("list", () => pack(["list"], 0, "org.weft.demo.hello  Hello  0.1.0"));
await step("a tampered copy is refused at install", async () => {
  const tampered = join(outDir, "src/tampered");
  cpSync(pkg, tampered, { recursive: true });
  appendFileSync(join(tampered, "ui/index.html"), "<script>steal()</script>\n");
  return pack(["install", tampered], 1, "modified after it was signed");
});
await step("bundle → .app.tar.zst", () => pack(["bundle", pkg, "--out", outDir], 0, "bundled:"));
await step("unbundle and verify the extracted copy", async () => {
  mkdirSync(join(outDir, "unbundled"));
  await pack(["unbundle", join(outDir, "org.weft.demo.hello.app.tar.zst"), "--out", join(outDir, "unbundled")], 0);
  return pack(["verify", join(outDir, "unbundled/org.weft.demo.hello"), "--key", demoPub], 0, "OK");
});
await step("build-image: EROFS + dm-verity, root hash signed", () => pack(["build-image", pkg, "--key", demoKey, "--out", outDir], 0, "root hash:"));
await step("verify the image set (signature, then every block)", () => pack(["verify", join(outDir, "org.weft.demo.hello.app.img")], 0, "OK image"));
await step("uninstall", () => pack(["uninstall", "org.weft.demo.hello"], 0, "uninstalled"));

// --- The demo apps under weft-runtime -----------------------------------------------------------------
const dist = join(repo, "apps/dist");
await step("install the signed demo apps (counter, notes)", async () => {
  await pack(["install", join(dist, "org.weft.demo.counter")], 0, "installed org.weft.demo.counter");
  return pack(["install", join(dist, "org.weft.demo.notes")], 0, "fs:rw:app-data");
});

let bus: PrivateBus | undefined;
let supervisor: BusConnection | undefined;
await step("start a private D-Bus daemon for the sessions", async () => {
  bus = await startPrivateBus();
  supervisor = await connectBus({ address: bus.address });
  return { output: bus.address };
});

/** Runs one session of `appId`, posts `commands` as its UI end, and returns the guest's replies. */
async function session(appId: string, id: bigint, commands: string[], replies: number): Promise<string[]> {
  const received: string[] = [];
  const runtime = new RuntimeHandle({
    package: await openVerifiedPackage(assertAppId(appId), "run", env),
    sessionId: id,
    supervisor: supervisor!,
    env: { ...env, WEFT_BUS_ADDRESS: bus!.address },
    onLogLine: (line) => appendFileSync(join(outDir, "runtime.log"), line + "\n"),
  });
  let answered: () => void = () => {};
  const done = new Promise<void>((resolve) => (answered = resolve));
  await runtime.waitForState("running");
  await runtime.bindSupervisorAsUi((payload) => {
    received.push(payload);
    if (received.length === replies) answered();
  });
  for (const command of commands) await runtime.post(command);
  await Promise.race([done, Bun.sleep(10_000).then(() => Promise.reject(new Error(`${appId} sent ${received.length} of ${replies} replies`)))]);
  await runtime.stop("demo step done");
  await runtime.exitCode;
  return received;
}

await step("counter: increment ×3, get → {\"count\":3}", async () => {
  const replies = await session("org.weft.demo.counter", 1n, ["increment", "increment", "increment", "get"], 4);
  if (replies.at(-1) !== '{"count":3}') throw new Error(`counter answered ${JSON.stringify(replies)}`);
  return { output: replies.join(" ") };
});
await step("notes: save a note, stop the session", async () => {
  const [reply] = await session("org.weft.demo.notes", 2n, ["save:hello from the demo"], 1);
  if (JSON.parse(reply!).text !== "hello from the demo") throw new Error(`notes answered ${reply}`);
  return { output: reply! };
});
await step("notes: a new runtime process loads the note from /data", async () => {
  const [reply] = await session("org.weft.demo.notes", 3n, ["load"], 1);
  if (JSON.parse(reply!).text !== "hello from the demo") throw new Error(`notes answered ${reply}`);
  return { output: reply! };
});
await supervisor?.close();
await bus?.close();

writeSummary(true);
const total = steps.reduce((sum, s) => sum + s.ms, 0);
console.log(`\nall ${steps.length} steps passed in ${(total / 1000).toFixed(1)} s; summary: ${join(outDir, "summary.json")}`);
