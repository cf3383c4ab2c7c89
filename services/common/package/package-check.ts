/**
 * `checkPackage`: everything `weft-pack check` (and `install`, before it copies anything) verifies about a
 * package directory, reported in one go:
 *
 *   1. wapp.toml: present, ≤ 64 KiB, valid (manifest.ts);
 *   2. runtime.module and ui.entry: regular files inside the package, no symlink on the way leading out;
 *   3. the module: a component (not a core module), exporting wasi:cli/run@0.2.x;
 *   4. its imports: wasi:* and weft:app/* only, every gated weft:app interface covered by a declared capability;
 *   5. the tree as a whole, by the walker `sign` and `install` use (package-files.ts): no symlink, special file,
 *      bad name, or tree too large or too deep anywhere, so a package `check` passes is one they accept.
 *
 * The file checks are check-time only. Whoever later opens these files (the runtime, the app shell) must open
 * them beneath the package root itself (openat2 RESOLVE_BENEATH), since the tree may change in between.
 */

import { constants } from "node:fs";
import { lstat, open, readlink, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type Capability,
  capabilitiesCovering,
  WEFT_APP_INTERFACES,
  WEFT_APP_PACKAGE,
  WEFT_APP_VERSION,
  weftInterface,
} from "./capabilities.ts";
import { ComponentError, type ComponentInfo, inspectComponent, MAX_COMPONENT_BYTES, parseInterfaceName } from "./component.ts";
import { PackageContentError, walkPackage } from "./package-files.ts";
import {
  analyseManifest,
  type Diagnostic,
  type Manifest,
  MANIFEST_FILE,
  type ManifestAnalysis,
  type ManifestReport,
  MAX_MANIFEST_BYTES,
} from "./manifest.ts";

export type { Diagnostic, Manifest, ManifestReport } from "./manifest.ts";
export type { ComponentInfo } from "./component.ts";

/** The outcome of `checkPackage`. The package is valid exactly when `errors` is empty. */
export interface PackageCheckReport {
  /** Set when wapp.toml itself is valid, even if other checks failed. */
  manifest?: Manifest;
  /** Set when the module could be read as a component. */
  component?: ComponentInfo;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Symlinks followed while resolving one path; Linux's own limit (ELOOP) is 40. */
const MAX_SYMLINK_FOLLOWS = 40;

export type ResolveFailure = "missing" | "outside" | "loop" | "not-a-file" | "unreadable";

export type ResolveResult =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly reason: ResolveFailure; readonly message: string };

/**
 * Resolves `relative` (already lexically checked: no `..`, not absolute) to a regular file inside `root`,
 * where `root` is a real path (no symlinks). The walk goes one component at a time with lstat: a symlink is
 * replaced by its target, which must be relative and must not climb above `root`. The result has no symlinks
 * left in it. Loops end at MAX_SYMLINK_FOLLOWS.
 */
export async function resolveInsidePackage(root: string, relative: string): Promise<ResolveResult> {
  const shown = JSON.stringify(relative);
  const fail = (reason: ResolveFailure, message: string): ResolveResult => ({ ok: false, reason, message });
  const pending = relative.split("/");
  const resolved: string[] = [];
  let follows = 0;
  while (pending.length > 0) {
    const segment = pending.shift() ?? "";
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return fail("outside", `${shown} leads outside the package through a symlink: keep the file inside the package`);
      resolved.pop();
      continue;
    }
    const current = join(root, ...resolved, segment);
    const here = [...resolved, segment].join("/");
    let info;
    let target: string | undefined;
    try {
      info = await lstat(current);
      if (info.isSymbolicLink()) target = await readlink(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        return fail(
          "missing",
          here === relative ? `${shown} does not exist: build it, or fix the path` : `${shown} does not exist (${here} is missing)`,
        );
      }
      return fail("unreadable", `${shown} cannot be read (${here}: ${code ?? String(error)})`);
    }
    if (target !== undefined) {
      if (++follows > MAX_SYMLINK_FOLLOWS) return fail("loop", `${shown} goes through too many symlinks (a symlink loop?)`);
      if (target.startsWith("/")) {
        return fail("outside", `${shown} goes through the symlink ${here} to the absolute path ${JSON.stringify(target)}: a package may only link to its own files, by relative path`);
      }
      pending.unshift(...target.split("/"));
      continue;
    }
    if (pending.some((s) => s !== "" && s !== ".") && !info.isDirectory()) {
      return fail("missing", `${shown} cannot be reached: ${here} is not a directory`);
    }
    resolved.push(segment);
  }
  if (resolved.length === 0) return fail("not-a-file", `${shown} names the package directory itself, not a file in it`);
  const path = join(root, ...resolved);
  try {
    if (!(await lstat(path)).isFile()) return fail("not-a-file", `${shown} is not a regular file`);
  } catch (error) {
    return fail("unreadable", `${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return { ok: true, path };
}

type BoundedRead = { bytes: Uint8Array } | { tooLarge: number } | { problem: string };

/**
 * Reads a regular file of at most `maxBytes` through one handle, opened without following a final symlink and
 * without blocking on a FIFO that may have been swapped in since the path was resolved.
 */
async function readBounded(path: string, maxBytes: number): Promise<BoundedRead> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { problem: `cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { problem: "is not a regular file" };
    if (info.size > maxBytes) return { tooLarge: info.size };
    const buffer = new Uint8Array(info.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: buffer.subarray(0, filled) };
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  } finally {
    await handle.close();
  }
}

/** The package directory's real path, or a diagnostic for field `package`. */
async function packageRoot(dir: string): Promise<{ root: string } | { error: Diagnostic }> {
  try {
    const root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) return { error: { field: "package", message: `${dir} is not a directory: pass the package directory` } };
    return { root };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? `${dir} does not exist` : `${dir} cannot be read (${code ?? String(error)})`;
    return { error: { field: "package", message } };
  }
}

async function analyseManifestIn(root: string): Promise<ManifestAnalysis> {
  const failed = (message: string): ManifestAnalysis => ({
    errors: [{ field: MANIFEST_FILE, message }],
    warnings: [],
    valid: { capabilities: [] },
  });
  const resolved = await resolveInsidePackage(root, MANIFEST_FILE);
  if (!resolved.ok) {
    return failed(
      resolved.reason === "missing"
        ? `is missing: a package directory must contain ${MANIFEST_FILE} (see docs/packages.md)`
        : resolved.message,
    );
  }
  const read = await readBounded(resolved.path, MAX_MANIFEST_BYTES);
  if ("problem" in read) return failed(read.problem);
  if ("tooLarge" in read) {
    return failed(`is ${read.tooLarge} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES} bytes (64 KiB): remove what WEFT does not read`);
  }
  return analyseManifest(read.bytes);
}

/**
 * Reads and validates `<dir>/wapp.toml` only, for callers that need no more (`weft-pack list`, `info`).
 * `manifest` is set exactly when `errors` is empty.
 */
export async function readManifest(dir: string): Promise<ManifestReport> {
  const located = await packageRoot(dir);
  if ("error" in located) return { errors: [located.error], warnings: [] };
  const { manifest, errors, warnings } = await analyseManifestIn(located.root);
  return manifest === undefined ? { errors, warnings } : { manifest, errors, warnings };
}

/** Checks a package directory (see the top of this file). Never throws for anything found in the package. */
export async function checkPackage(dir: string): Promise<PackageCheckReport> {
  const located = await packageRoot(dir);
  if ("error" in located) return { errors: [located.error], warnings: [] };
  const { root } = located;

  const analysis = await analyseManifestIn(root);
  const errors = [...analysis.errors];
  try {
    await walkPackage(root);
  } catch (error) {
    if (!(error instanceof PackageContentError)) throw error;
    errors.push({ field: error.path === "" ? "package" : error.path, message: error.message });
  }
  const warnings = [...analysis.warnings];
  const report: PackageCheckReport = { errors, warnings };
  if (analysis.manifest !== undefined) report.manifest = analysis.manifest;

  const { entry, module } = analysis.valid;
  if (entry !== undefined) {
    const resolved = await resolveInsidePackage(root, entry);
    if (!resolved.ok) errors.push({ field: "ui.entry", message: resolved.message });
  }
  if (module !== undefined) {
    const component = await inspectModule(root, module, errors);
    if (component !== undefined) {
      report.component = component;
      const imports = checkComponentImports(component, analysis.valid.capabilities, module);
      errors.push(...imports.errors);
      warnings.push(...imports.warnings);
    }
  }
  return report;
}

async function inspectModule(root: string, module: string, errors: Diagnostic[]): Promise<ComponentInfo | undefined> {
  const resolved = await resolveInsidePackage(root, module);
  if (!resolved.ok) {
    errors.push({ field: "runtime.module", message: resolved.message });
    return undefined;
  }
  const read = await readBounded(resolved.path, MAX_COMPONENT_BYTES);
  if ("problem" in read) {
    errors.push({ field: module, message: read.problem });
    return undefined;
  }
  if ("tooLarge" in read) {
    errors.push({ field: module, message: `is ${read.tooLarge} bytes; WEFT accepts components up to ${MAX_COMPONENT_BYTES} bytes (256 MiB)` });
    return undefined;
  }
  try {
    return await inspectComponent(read.bytes);
  } catch (error) {
    if (!(error instanceof ComponentError)) throw error;
    errors.push({ field: module, message: error.message });
    return undefined;
  }
}

const RUN_INTERFACE = "wasi:cli/run";
const WASI_0_2 = /^0\.2\.\d+$/;
const WEFT_INTERFACE_LIST = Object.keys(WEFT_APP_INTERFACES)
  .map((name) => name.slice(`${WEFT_APP_PACKAGE}/`.length))
  .join(", ");

/**
 * Checks a component's imports and exports against the capabilities its manifest declares. `field` names
 * the module in diagnostics (its manifest path, like `app.wasm`). Used by `checkPackage` and by install.
 */
export function checkComponentImports(
  component: ComponentInfo,
  capabilities: readonly Capability[],
  field: string,
): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const importedWeft = new Set<string>();

  for (const name of component.imports) {
    const parsed = parseInterfaceName(name);
    if (parsed === undefined) {
      errors.push({
        field,
        message: `imports ${JSON.stringify(name)} (a function or interface by plain name), which the WEFT runtime does not provide: a component may import only wasi:* (WASI 0.2) and weft:app/* interfaces`,
      });
      continue;
    }
    if (parsed.namespace === "wasi") {
      if (parsed.version === undefined || !WASI_0_2.test(parsed.version)) {
        warnings.push({ field, message: `imports ${name}, but WEFT provides WASI 0.2 (0.2.x): this import may not link` });
      }
      continue;
    }
    if (`${parsed.namespace}:${parsed.package}` !== WEFT_APP_PACKAGE) {
      errors.push({
        field,
        message: `imports ${name}, which the WEFT runtime does not provide: a component may import only wasi:* (WASI 0.2) and weft:app/* interfaces`,
      });
      continue;
    }
    const info = weftInterface(parsed.unversioned);
    if (info === undefined) {
      errors.push({
        field,
        message: `imports ${name}, which WEFT does not provide: the weft:app interfaces are ${WEFT_INTERFACE_LIST} (protocol/wit/weft-app.wit)`,
      });
      continue;
    }
    if (parsed.version !== WEFT_APP_VERSION) {
      const got = parsed.version === undefined ? "without a version" : `at version ${parsed.version}`;
      errors.push({
        field,
        message: `imports ${parsed.unversioned} ${got}, but this WEFT provides ${WEFT_APP_PACKAGE}@${WEFT_APP_VERSION}: build against protocol/wit/weft-app.wit`,
      });
      continue;
    }
    importedWeft.add(info.name);
    if (!info.gated) continue;
    const covering = capabilitiesCovering(info.name);
    if (!capabilities.some((c) => covering.includes(c.definition))) {
      const choices = covering.map((d) => JSON.stringify(d.pattern)).join(" or ");
      errors.push({
        field: "package.capabilities",
        message: `the component imports ${name}, but no declared capability covers it: add ${choices} to package.capabilities (see docs/packages.md)`,
      });
    }
  }

  const runExports = component.exports.flatMap((name) => {
    const parsed = parseInterfaceName(name);
    return parsed?.unversioned === RUN_INTERFACE ? [parsed] : [];
  });
  if (!runExports.some((run) => run.version !== undefined && WASI_0_2.test(run.version))) {
    const found = runExports.map((run) => `${run.unversioned}@${run.version ?? "(no version)"}`).join(", ");
    errors.push({
      field,
      message:
        (found === "" ? "does not export wasi:cli/run@0.2.x" : `exports ${found}, not wasi:cli/run@0.2.x`) +
        ": WEFT starts apps as WASI 0.2 commands; build a command (for Rust: a binary for wasm32-wasip2) or export wasi:cli/run@0.2.0 from your world",
    });
  }

  for (const capability of capabilities) {
    const definition = capability.definition;
    if (definition.grant.kind === "reserved") {
      warnings.push({ field: "package.capabilities", message: `${capability.name} is reserved and grants nothing yet` });
      continue;
    }
    if (definition.covers.length === 0) continue; // preopens act through WASI, not through an import
    if (!definition.covers.some((coverage) => importedWeft.has(coverage.interface))) {
      const interfaces = [...new Set(definition.covers.map((c) => c.interface))].join(", ");
      warnings.push({
        field: "package.capabilities",
        message: `${capability.name} is declared but the component does not import ${interfaces}, so it grants nothing: remove it (users are asked to approve every capability)`,
      });
    }
  }
  return { errors, warnings };
}
