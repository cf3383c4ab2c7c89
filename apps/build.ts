/**
 * Builds the demo apps into signed packages: `bun apps/build.ts [--force] [<app-id>…]`.
 *
 * An app is a directory `apps/<id>/` holding its sources; its package is assembled in `apps/dist/<id>/` with
 * only what ships, so the signature covers exactly that:
 *
 *   apps/<id>/                          apps/dist/<id>/
 *     wapp.toml          ─────────────►   wapp.toml
 *     src/app.ts (+ imports) ─┐           app.wasm          (runtime.module)
 *     wit/world.wit  ─────────┴─ QuickJS ─►                 componentize-qjs, sync ABI, size-optimised engine
 *     ui/…               ─────────────►   ui/…
 *                                         signer.pub, signature.sig   (apps/keys/weft-sign.key)
 *
 * Phases per app: (1) hash the inputs — every file of the app directory, protocol/wit/weft-app.wit, this
 * script, the jco and componentize-qjs versions — and skip the app when the hash equals the last build's and
 * its package still verifies; (2) bundle the TypeScript into one ES module (Bun.build; the host interfaces stay
 * imports); (3) stage the WIT: the app's world plus its dependencies (weft:app from protocol/wit, wasi:* 0.2.12
 * from jco's bundled WIT); (4) componentize; (5) assemble the package in a staging directory and run
 * `checkPackage` on it; (6) sign, verify, and swap it into place; record the hash in dist/.build-state.json.
 */

import { cp, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { publicKeyOf, readSecretKey } from "../services/common/package/keys.ts";
import { checkPackage, readManifest, type Diagnostic } from "../services/common/package/package-check.ts";
import { PackageContentError } from "../services/common/package/package-files.ts";
import { packageDigest, signPackage, verifyPackage } from "../services/common/package/signing.ts";

const APPS_DIR = import.meta.dir;
const REPO_ROOT = dirname(APPS_DIR);
const WEFT_APP_WIT = join(REPO_ROOT, "protocol/wit/weft-app.wit");

/** The WASI version the worlds name: the one jco 1.35's QuickJS engine is built against, shipped as WIT by jco. */
const WASI_VERSION = "0.2.12";
/** The WASI packages a world using wasi:cli, clocks, io and filesystem needs (wasi:cli's worlds name the rest). */
const WASI_PACKAGES = ["cli", "clocks", "filesystem", "io", "random", "sockets"];

/** Where each app keeps its parts, relative to its directory. */
const APP_ENTRY = "src/app.ts";
const APP_WORLD = "wit/world.wit";
const APP_UI_DIR = "ui";
const MANIFEST = "wapp.toml";

const STATE_FILE = ".build-state.json";
const STAGING_PREFIX = ".staging-";
const RETIRED_PREFIX = ".retired-";

export interface BuildOptions {
  /** Directory holding the app source directories (default: apps/). */
  readonly appsDir?: string;
  /** Where packages and the build state go (default: apps/dist/). */
  readonly distDir?: string;
  /** The secret key that signs the packages (default: the demo key apps/keys/weft-sign.key). */
  readonly keyFile?: string;
  /** Rebuild even when nothing changed. */
  readonly force?: boolean;
  /** Build only these app ids (default: every directory of appsDir with a wapp.toml). */
  readonly only?: readonly string[];
  /** Progress lines (default: stdout). */
  readonly log?: (line: string) => void;
}

export interface AppBuildResult {
  readonly id: string;
  /** The package directory. */
  readonly packageDir: string;
  readonly status: "built" | "up-to-date";
  readonly milliseconds: number;
  /** The inputs hash recorded for this build. */
  readonly inputsHash: string;
  /** Size of app.wasm when built. */
  readonly componentBytes?: number;
  /** checkPackage warnings of the built package. */
  readonly warnings: readonly Diagnostic[];
}

/** A build that failed; the message names the app and says what to fix. */
export class AppBuildError extends Error {
  constructor(
    readonly appId: string,
    message: string,
  ) {
    super(`${appId}: ${message}`);
    this.name = "AppBuildError";
  }
}

interface BuildState {
  apps: Record<string, { inputsHash: string; builtAt: string }>;
}

interface Toolchain {
  readonly jcoVersion: string;
  readonly qjsVersion: string;
  readonly wasiWitDir: string;
  readonly componentize: (options: {
    witPath: string;
    jsSource: string;
    jsPath: string;
    world?: string;
    sync?: boolean;
    optSize?: boolean;
  }) => Promise<{ component: Uint8Array }>;
}

let toolchain: Promise<Toolchain> | undefined;

/**
 * componentize-qjs as jco 1.35 ships it (`jco componentize --backend qjs`). It is a dependency of jco, not of
 * this project, so it is resolved from jco's own directory; called directly because jco's API does not export
 * componentize and its CLI reads paths through a WASI shim that has no preopens under Node.
 */
function loadToolchain(): Promise<Toolchain> {
  toolchain ??= (async () => {
    const jcoDir = realpathSync(dirname(Bun.resolveSync("@bytecodealliance/jco/package.json", REPO_ROOT)));
    const qjsEntry = Bun.resolveSync("componentize-qjs", jcoDir);
    const qjsDir = dirname(qjsEntry);
    const jcoVersion: string = (await Bun.file(join(jcoDir, "package.json")).json()).version;
    const qjsVersion: string = (await Bun.file(join(qjsDir, "package.json")).json()).version;
    const wasiWitDir = join(jcoDir, "lib/wit/builtin", WASI_VERSION);
    for (const name of WASI_PACKAGES) {
      if (!(await Bun.file(join(wasiWitDir, `wasi-${name}`, "package.wit")).exists())) {
        throw new Error(`jco ${jcoVersion} has no WIT for wasi:${name}@${WASI_VERSION} in ${wasiWitDir}: the build expects jco 1.35.x (package.json)`);
      }
    }
    const { componentize } = await import(qjsEntry);
    return { jcoVersion, qjsVersion, wasiWitDir, componentize };
  })();
  return toolchain;
}

/** The app ids to build: subdirectories of `appsDir` with a wapp.toml, or `only`. */
async function findApps(appsDir: string, only: readonly string[] | undefined): Promise<string[]> {
  const ids: string[] = [];
  for (const entry of await readdir(appsDir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await Bun.file(join(appsDir, entry.name, MANIFEST)).exists())) ids.push(entry.name);
  }
  ids.sort();
  if (only === undefined || only.length === 0) return ids;
  const unknown = only.filter((id) => !ids.includes(id));
  if (unknown.length > 0) {
    throw new AppBuildError(unknown.join(", "), `no such app in ${appsDir} (apps: ${ids.join(", ") || "none"})`);
  }
  return ids.filter((id) => only.includes(id));
}

async function sha256OfFile(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await Bun.file(path).arrayBuffer()).digest("hex");
}

/** SHA-256 over everything the package is made from; equal hashes mean the last build is still right. */
async function inputsHash(id: string, appDir: string, tools: Toolchain): Promise<string> {
  let sources: string;
  try {
    sources = (await packageDigest(appDir)).text;
  } catch (error) {
    if (error instanceof PackageContentError) throw new AppBuildError(id, `cannot read its sources: ${error.message}`);
    throw error;
  }
  const text = [
    `app ${id}`,
    `weft-app.wit ${await sha256OfFile(WEFT_APP_WIT)}`,
    `build.ts ${await sha256OfFile(import.meta.path)}`,
    `jco ${tools.jcoVersion}`,
    `componentize-qjs ${tools.qjsVersion}`,
    sources,
  ].join("\n");
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

async function readState(distDir: string): Promise<BuildState> {
  const file = Bun.file(join(distDir, STATE_FILE));
  if (!(await file.exists())) return { apps: {} };
  try {
    const parsed = (await file.json()) as BuildState;
    return typeof parsed?.apps === "object" && parsed.apps !== null ? parsed : { apps: {} };
  } catch {
    return { apps: {} }; // unreadable state only costs a rebuild
  }
}

async function writeState(distDir: string, state: BuildState): Promise<void> {
  const file = join(distDir, STATE_FILE);
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, file);
}

/** True when `packageDir` exists and is signed by `publicKey` over its current contents. */
async function packageIsIntact(packageDir: string, publicKey: Uint8Array): Promise<boolean> {
  try {
    return (await verifyPackage(packageDir, { publicKey })).status === "trusted";
  } catch {
    return false; // missing or unreadable: rebuild
  }
}

/** One ES module from the app's TypeScript; `weft:*` and `wasi:*` imports are left for the component's imports. */
async function bundleSource(id: string, appDir: string): Promise<string> {
  const entry = join(appDir, APP_ENTRY);
  if (!(await Bun.file(entry).exists())) throw new AppBuildError(id, `${APP_ENTRY} is missing: it is the component's entry module`);
  const result = await Bun.build({
    entrypoints: [entry],
    target: "browser",
    format: "esm",
    external: ["weft:*", "wasi:*"],
    throw: false,
  });
  const output = result.outputs[0];
  if (!result.success || output === undefined) {
    const messages = result.logs.map((log) => {
      const where = log.position === null ? "" : `${relative(appDir, log.position.file)}:${log.position.line}:${log.position.column}: `;
      return `  ${where}${log.message}`;
    });
    throw new AppBuildError(id, `its TypeScript does not bundle:\n${messages.join("\n")}`);
  }
  return output.text();
}

/** A WIT directory componentize can resolve: the app's world and, in deps/, every package it names. */
async function stageWit(id: string, appDir: string, workDir: string, tools: Toolchain): Promise<string> {
  const world = join(appDir, APP_WORLD);
  if (!(await Bun.file(world).exists())) throw new AppBuildError(id, `${APP_WORLD} is missing: it declares what the component imports and exports`);
  const witDir = join(workDir, "wit");
  await mkdir(join(witDir, "deps/weft-app"), { recursive: true });
  await cp(world, join(witDir, "world.wit"));
  await cp(WEFT_APP_WIT, join(witDir, "deps/weft-app/weft-app.wit"));
  for (const name of WASI_PACKAGES) {
    await cp(join(tools.wasiWitDir, `wasi-${name}`), join(witDir, "deps", `wasi-${name}`), { recursive: true });
  }
  return witDir;
}

async function componentize(id: string, appDir: string, tools: Toolchain): Promise<Uint8Array> {
  const workDir = await mkdtemp(join(tmpdir(), `weft-app-build-${id}-`));
  try {
    const jsSource = await bundleSource(id, appDir);
    const jsPath = join(workDir, "app.js"); // componentize-qjs wants the entry on disk, as the base for imports
    await writeFile(jsPath, jsSource);
    const witPath = await stageWit(id, appDir, workDir, tools);
    try {
      // sync: plain component ABI, no component-model async (the runtime does not enable it);
      // optSize: the engine built for size, 1.1 MB instead of 1.7 MB, plenty fast for message handling.
      const { component } = await tools.componentize({ witPath, jsSource, jsPath, world: "app", sync: true, optSize: true });
      return new Uint8Array(component);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new AppBuildError(id, `componentize-qjs failed: ${detail.trim()}`);
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Removes staging and retired directories that an interrupted build of `id` left behind. */
async function removeLeftovers(distDir: string, id: string): Promise<void> {
  for (const name of await readdir(distDir)) {
    if (name.startsWith(`${STAGING_PREFIX}${id}-`) || name.startsWith(`${RETIRED_PREFIX}${id}-`)) {
      await rm(join(distDir, name), { recursive: true, force: true });
    }
  }
}

/** Replaces `packageDir` by `stagingDir`: the old package moves aside first, so a failure leaves one of the two. */
async function publish(stagingDir: string, packageDir: string): Promise<void> {
  const retired = join(dirname(packageDir), `${RETIRED_PREFIX}${basename(packageDir)}-${process.pid}`);
  const hadOld = await stat(packageDir).then(
    () => true,
    () => false,
  );
  if (hadOld) await rename(packageDir, retired);
  await rename(stagingDir, packageDir);
  if (hadOld) await rm(retired, { recursive: true, force: true });
}

async function buildApp(
  id: string,
  options: { appsDir: string; distDir: string; secretKey: Uint8Array; publicKey: Uint8Array; force: boolean; state: BuildState; log: (line: string) => void },
): Promise<AppBuildResult> {
  const started = performance.now();
  const appDir = join(options.appsDir, id);
  const packageDir = join(options.distDir, id);
  const tools = await loadToolchain();
  const hash = await inputsHash(id, appDir, tools);

  if (!options.force && options.state.apps[id]?.inputsHash === hash && (await packageIsIntact(packageDir, options.publicKey))) {
    const milliseconds = performance.now() - started;
    options.log(`${id}: up to date (${relative(process.cwd(), packageDir) || packageDir})`);
    return { id, packageDir, status: "up-to-date", milliseconds, inputsHash: hash, warnings: [] };
  }

  const manifest = await readManifest(appDir);
  if (manifest.manifest === undefined) {
    throw new AppBuildError(id, `${MANIFEST} is invalid:\n${manifest.errors.map((e) => `  ${e.field}: ${e.message}`).join("\n")}`);
  }
  if (manifest.manifest.package.id !== id) {
    throw new AppBuildError(id, `${MANIFEST} says package.id = ${JSON.stringify(manifest.manifest.package.id)}: name the directory after the app id`);
  }

  const component = await componentize(id, appDir, tools);

  await removeLeftovers(options.distDir, id);
  const stagingDir = join(options.distDir, `${STAGING_PREFIX}${id}-${process.pid}`);
  try {
    await mkdir(stagingDir);
    await cp(join(appDir, MANIFEST), join(stagingDir, MANIFEST));
    const modulePath = join(stagingDir, manifest.manifest.runtime.module);
    await mkdir(dirname(modulePath), { recursive: true });
    await writeFile(modulePath, component);
    if (await stat(join(appDir, APP_UI_DIR)).catch(() => undefined)) {
      await cp(join(appDir, APP_UI_DIR), join(stagingDir, APP_UI_DIR), { recursive: true });
    }

    const report = await checkPackage(stagingDir);
    if (report.errors.length > 0) {
      throw new AppBuildError(id, `the built package does not pass weft-pack check:\n${report.errors.map((e) => `  ${e.field}: ${e.message}`).join("\n")}`);
    }
    for (const warning of report.warnings) options.log(`${id}: warning: ${warning.field}: ${warning.message}`);

    await signPackage(stagingDir, options.secretKey);
    const verdict = await verifyPackage(stagingDir, { publicKey: options.publicKey });
    if (verdict.status !== "trusted") throw new AppBuildError(id, `the package does not verify after signing: ${verdict.message}`);

    await publish(stagingDir, packageDir);
    options.state.apps[id] = { inputsHash: hash, builtAt: new Date().toISOString() };
    await writeState(options.distDir, options.state);

    const milliseconds = performance.now() - started;
    const size = `${(component.length / 1e6).toFixed(1)} MB`;
    options.log(`${id}: built in ${(milliseconds / 1000).toFixed(1)} s, app.wasm ${size}, signed (${relative(process.cwd(), packageDir) || packageDir})`);
    return { id, packageDir, status: "built", milliseconds, inputsHash: hash, componentBytes: component.length, warnings: report.warnings };
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    throw error;
  }
}

/** Builds (or skips, when up to date) every app; throws AppBuildError on the first app that fails. */
export async function buildApps(options: BuildOptions = {}): Promise<AppBuildResult[]> {
  const appsDir = options.appsDir ?? APPS_DIR;
  const distDir = options.distDir ?? join(APPS_DIR, "dist");
  const keyFile = options.keyFile ?? join(APPS_DIR, "keys/weft-sign.key");
  const log = options.log ?? ((line: string) => console.log(line));

  const ids = await findApps(appsDir, options.only);
  const secretKey = await readSecretKey(keyFile);
  const publicKey = await publicKeyOf(secretKey);
  await mkdir(distDir, { recursive: true });
  const state = await readState(distDir);

  const results: AppBuildResult[] = [];
  for (const id of ids) {
    results.push(await buildApp(id, { appsDir, distDir, secretKey, publicKey, force: options.force ?? false, state, log }));
  }
  return results;
}

const USAGE = `usage: bun apps/build.ts [--force] [<app-id>…]

Builds every app under apps/ (or the ones named) into a signed package in apps/dist/<id>/,
skipping apps whose sources have not changed since their last build. --force rebuilds.`;

async function main(argv: readonly string[]): Promise<number> {
  const only: string[] = [];
  let force = false;
  for (const arg of argv) {
    if (arg === "--force") force = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      return 0;
    } else if (arg.startsWith("-")) {
      console.error(`build: unknown option ${arg}\n${USAGE}`);
      return 2;
    } else only.push(arg);
  }
  try {
    await buildApps({ force, only });
    return 0;
  } catch (error) {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
