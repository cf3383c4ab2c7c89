/**
 * Test fixtures: real Wasm components built from WIT at test time, and package directories laid out the way
 * `weft-pack` expects them. Shared by the manifest/package-check tests and by the signing and CLI tests.
 *
 * A component is built the way wit-bindgen-based toolchains build one, minus the compiler: jco's bundled
 * wasm-tools makes a dummy core module for a generated world (`componentEmbed({ dummy: true })`) and wraps
 * it (`componentNew`). That takes ~0.2 s the first time, so results are cached per process.
 */

import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { componentEmbed, componentNew, parse } from "@bytecodealliance/jco";
import { stringify } from "smol-toml";

/** protocol/wit/weft-app.wit, the source of the weft:app interfaces in built components. */
export const WEFT_APP_WIT_PATH = join(import.meta.dir, "../protocol/wit/weft-app.wit");

export interface BuildComponentOptions {
  /**
   * What the component imports: interface names (`weft:app/fetch@0.1.0`, `wasi:cli/environment@0.2.0`,
   * `example:thing/api@1.0.0`; weft:app interfaces come from protocol/wit/weft-app.wit, any other interface
   * is a stub with one function) or plain names (`log`: a function import `log: func()`).
   */
  readonly imports?: readonly string[];
  /** Further exports, named like imports. */
  readonly exports?: readonly string[];
  /** Export `wasi:cli/run@0.2.0`, as every WEFT app must (default true). */
  readonly exportRun?: boolean;
}

const RUN_EXPORT = "wasi:cli/run@0.2.0";

/** The interfaces of wasi:cli the fixtures need, with their real signatures. */
const WASI_CLI_INTERFACES: Record<string, string> = {
  run: "interface run {\n  run: func() -> result;\n}",
  environment: "interface environment {\n  get-environment: func() -> list<tuple<string, string>>;\n}",
};

const componentCache = new Map<string, Promise<Uint8Array>>();
let weftAppWit: Promise<{ body: string; interfaces: Set<string> }> | undefined;

/** The weft:app WIT without its package line, to nest as `package weft:app@0.1.0 { … }`. */
function loadWeftAppWit(): Promise<{ body: string; interfaces: Set<string> }> {
  weftAppWit ??= Bun.file(WEFT_APP_WIT_PATH)
    .text()
    .then((text) => {
      const body = text.replace(/^package\s+weft:app@0\.1\.0\s*;/m, "");
      const interfaces = new Set([...body.matchAll(/^interface\s+([a-z][a-z0-9-]*)/gm)].map((m) => m[1] ?? ""));
      return { body, interfaces };
    });
  return weftAppWit;
}

interface Qualified {
  readonly packageKey: string; // `weft:app@0.1.0`, or `example:thing` when unversioned
  readonly packageName: string; // `weft:app`
  readonly version?: string;
  readonly iface: string;
}

function qualify(name: string): Qualified | undefined {
  const match = /^([a-z][a-z0-9-]*:[a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)(?:@(.+))?$/.exec(name);
  if (match === null) return undefined;
  const [, packageName = "", iface = "", version] = match;
  return version === undefined
    ? { packageKey: packageName, packageName, iface }
    : { packageKey: `${packageName}@${version}`, packageName, version, iface };
}

/** The WIT source of a one-world package that imports and exports the given names. */
async function generateWit(imports: readonly string[], exports: readonly string[]): Promise<string> {
  const packages = new Map<string, { qualified: Qualified; interfaces: Set<string> }>();
  const worldItems: string[] = [];
  for (const [keyword, names] of [["import", imports], ["export", exports]] as const) {
    for (const name of names) {
      const qualified = qualify(name);
      if (qualified === undefined) {
        if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`buildComponent: cannot generate WIT for ${JSON.stringify(name)}`);
        worldItems.push(`  ${keyword} ${name}: func();`);
        continue;
      }
      worldItems.push(`  ${keyword} ${name};`);
      const entry = packages.get(qualified.packageKey) ?? { qualified, interfaces: new Set<string>() };
      entry.interfaces.add(qualified.iface);
      packages.set(qualified.packageKey, entry);
    }
  }

  const blocks: string[] = [];
  const weft = await loadWeftAppWit();
  for (const [key, { interfaces }] of packages) {
    const parts: string[] = [];
    let wanted = [...interfaces];
    if (key === "weft:app@0.1.0") {
      parts.push(weft.body);
      wanted = wanted.filter((iface) => !weft.interfaces.has(iface));
    }
    for (const iface of wanted) {
      const known = key.startsWith("wasi:cli") ? WASI_CLI_INTERFACES[iface] : undefined;
      parts.push(known ?? `interface ${iface} {\n  ping: func();\n}`);
    }
    blocks.push(`package ${key} {\n${parts.join("\n")}\n}`);
  }
  return `package weft-test:fixture;\n\nworld fixture {\n${worldItems.join("\n")}\n}\n\n${blocks.join("\n\n")}\n`;
}

/**
 * A real component importing and exporting the given names. Cached per process; each call returns a fresh
 * copy, so callers may mutate it (fuzz tests do).
 */
export async function buildComponent(options: BuildComponentOptions = {}): Promise<Uint8Array> {
  const imports = [...new Set(options.imports ?? [])].sort();
  const exports = [...new Set([...(options.exportRun === false ? [] : [RUN_EXPORT]), ...(options.exports ?? [])])].sort();
  const key = JSON.stringify([imports, exports]);
  let built = componentCache.get(key);
  if (built === undefined) {
    built = (async () => {
      const witSource = await generateWit(imports, exports);
      const core = await componentEmbed({ dummy: true, witSource, world: "weft-test:fixture/fixture" });
      return componentNew(core);
    })();
    componentCache.set(key, built);
  }
  return (await built).slice();
}

/** The WIT `buildComponent` would compile, for debugging a fixture. */
export function fixtureWit(options: BuildComponentOptions = {}): Promise<string> {
  const exports = [...(options.exportRun === false ? [] : [RUN_EXPORT]), ...(options.exports ?? [])];
  return generateWit(options.imports ?? [], exports);
}

/** A valid core Wasm module (not a component), with a `_start` export like a WASI preview 1 command. */
export async function buildCoreModule(): Promise<Uint8Array> {
  return parse('(module (func (export "_start")))');
}

/** The manifest `writeTestPackage` writes unless told otherwise. */
export const DEFAULT_TEST_MANIFEST = {
  package: {
    id: "org.weft.test.app",
    name: "Test App",
    version: "0.1.0",
    capabilities: [] as string[],
  },
  runtime: { module: "app.wasm" },
  ui: { entry: "ui/index.html" },
} as const;

/**
 * Overrides of DEFAULT_TEST_MANIFEST, by table: `{ package: { capabilities: ["net:fetch:*"] } }` replaces one
 * key; a key or a table set to `null` is removed; any other value (a string for a table, an extra table) is
 * written as given, so tests can produce wrong types too.
 */
export type ManifestOverrides = Record<string, unknown>;

export interface TestPackageOptions {
  /** The whole wapp.toml text, or overrides merged into DEFAULT_TEST_MANIFEST table by table. */
  readonly manifest?: string | ManifestOverrides;
  /**
   * The component to write at runtime.module (default: one importing weft:app/notify and weft:app/ipc and
   * exporting wasi:cli/run); `null` writes none.
   */
  readonly component?: Uint8Array | null;
  /** Extra files by package-relative path (overriding the defaults); `null` removes a default file. */
  readonly files?: Readonly<Record<string, string | Uint8Array | null>>;
}

/** DEFAULT_TEST_MANIFEST with `overrides` applied (see ManifestOverrides). */
export function testManifest(overrides: ManifestOverrides = {}): Record<string, unknown> {
  const result: Record<string, unknown> = structuredClone(DEFAULT_TEST_MANIFEST) as Record<string, unknown>;
  for (const [tableName, value] of Object.entries(overrides)) {
    const base = result[tableName];
    if (value === null) {
      delete result[tableName];
    } else if (isPlainTable(value) && isPlainTable(base)) {
      for (const [key, keyValue] of Object.entries(value)) {
        if (keyValue === null) delete base[key];
        else base[key] = keyValue;
      }
    } else {
      result[tableName] = value;
    }
  }
  return result;
}

function isPlainTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function stringAt(table: unknown, key: string): string | undefined {
  const value = isPlainTable(table) ? table[key] : undefined;
  return typeof value === "string" ? value : undefined;
}

/**
 * Lays out a package in `dir` (created if needed): wapp.toml, the component at runtime.module and an HTML
 * page at ui.entry, plus `files`. With no options the package passes `checkPackage`. Returns `dir`.
 */
export async function writeTestPackage(dir: string, options: TestPackageOptions = {}): Promise<string> {
  let manifestText: string;
  let modulePath = "app.wasm";
  let entryPath = "ui/index.html";
  if (typeof options.manifest === "string") {
    manifestText = options.manifest;
  } else {
    const manifest = testManifest(options.manifest);
    manifestText = stringify(manifest);
    // Fall back to the defaults when a test made these paths invalid on purpose: the file still exists.
    const module = stringAt(manifest.runtime, "module");
    const entry = stringAt(manifest.ui, "entry");
    if (module !== undefined && isSafeRelative(module)) modulePath = module;
    if (entry !== undefined && isSafeRelative(entry)) entryPath = entry;
  }

  const files = new Map<string, string | Uint8Array>();
  files.set("wapp.toml", manifestText);
  if (options.component !== null) {
    files.set(modulePath, options.component ?? (await buildComponent({ imports: ["weft:app/notify@0.1.0", "weft:app/ipc@0.1.0"] })));
  }
  files.set(entryPath, "<!doctype html>\n<title>Test App</title>\n<p>Hello from a test package.</p>\n");
  for (const [path, content] of Object.entries(options.files ?? {})) {
    if (content === null) files.delete(path);
    else files.set(path, content);
  }

  await mkdir(dir, { recursive: true });
  for (const [path, content] of files) {
    if (!isSafeRelative(path)) throw new Error(`writeTestPackage: refusing to write outside the package: ${path}`);
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  return dir;
}

function isSafeRelative(path: string): boolean {
  return path.length > 0 && !path.startsWith("/") && !path.split("/").some((s) => s === ".." || s === "") && !path.includes("\0");
}

/** A fresh directory under the system temp dir; the caller removes it (`rm(dir, { recursive: true })`). */
export function makeTempDir(prefix = "weft-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
