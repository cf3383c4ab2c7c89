/**
 * `wapp.toml`: parsing (smol-toml) and validation (valibot), once, at the edge. What comes out is a `Manifest`
 * whose every field is known good (id grammar, semver, in-package relative paths, parsed capabilities), so
 * callers inside WEFT never re-check it.
 *
 *   [package]
 *   id = "org.example.notes"           required, app id grammar (app-id.ts)
 *   name = "Notes"                     required, 1–64 bytes of UTF-8, no control characters
 *   version = "1.2.0"                  required, semantic version 2.0.0
 *   description = "…"                  optional, ≤ 1024 bytes
 *   author = "…"                       optional, ≤ 256 bytes
 *   capabilities = ["fs:rw:app-data"]  optional, see capabilities.ts
 *   [runtime]
 *   module = "app.wasm"                required, relative path inside the package
 *   [ui]
 *   entry = "ui/index.html"            required, relative path inside the package
 *
 * Every problem is collected and reported together, each naming its field and saying what to write instead.
 * Unknown keys are warnings, not errors, so a manifest written for a newer WEFT still installs here.
 */

import * as v from "valibot";
import { parse as parseToml, TomlError } from "smol-toml";
import { appIdProblem } from "../../../protocol/app-id.ts";
import { type Capability, parseCapability } from "./capabilities.ts";

/** One problem found in a package: `field` is a manifest key path (`package.id`), a file, or `package`. */
export interface Diagnostic {
  readonly field: string;
  readonly message: string;
}

/** A validated manifest. */
export interface Manifest {
  readonly package: {
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly description?: string;
    readonly author?: string;
    /** Parsed and de-duplicated, in manifest order. */
    readonly capabilities: readonly Capability[];
  };
  readonly runtime: { readonly module: string };
  readonly ui: { readonly entry: string };
}

/** The result of reading a manifest: `manifest` is set exactly when `errors` is empty. */
export interface ManifestReport {
  manifest?: Manifest;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/**
 * A report plus the fields that were valid on their own, so a package check can go on to look at the module,
 * UI entry and component even when another field of the manifest is wrong, and report everything at once.
 */
export interface ManifestAnalysis extends ManifestReport {
  readonly valid: {
    readonly module?: string;
    readonly entry?: string;
    readonly capabilities: readonly Capability[];
  };
}

/** The manifest's file name inside a package directory. */
export const MANIFEST_FILE = "wapp.toml";
/** A manifest is a few hundred bytes; the bound keeps a hostile one from costing memory or parse time. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** `package.name` in UTF-8 bytes (SPEC 3.1), so it fits a title bar and a terminal column whatever the script. */
export const MAX_NAME_BYTES = 64;
// The bounds below are WEFT's, not the reference's: generous for real manifests, small for hostile ones.
export const MAX_DESCRIPTION_BYTES = 1024;
export const MAX_AUTHOR_BYTES = 256;
export const MAX_VERSION_LENGTH = 128;
export const MAX_PATH_BYTES = 1024;
export const MAX_CAPABILITIES = 64;

const utf8 = new TextEncoder();
const byteLength = (text: string) => utf8.encode(text).length;

// semver.org's recommended expression for SemVer 2.0.0 (numeric parts without leading zeros, dot-separated
// prerelease and build identifiers).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Whether `version` is a Semantic Versioning 2.0.0 version (`1.0.0`, `1.0.0-rc.1+build.5`). */
export function isSemver(version: string): boolean {
  return version.length <= MAX_VERSION_LENGTH && SEMVER.test(version);
}

// Names and authors are printed by `weft-pack list` and shown in the shell: control characters there could
// rewrite a terminal or fake a second line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_EXCEPT_NEWLINE_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Why `path` cannot name a file inside the package, or `undefined` when it can. Accepted: `/`-separated
 * segments, none empty, `.` or `..`; not absolute. The check is lexical; package-check.ts resolves symlinks.
 */
export function packagePathProblem(path: string): string | undefined {
  const shown = JSON.stringify(path);
  if (path.length === 0) return "is empty: write a path relative to the package directory, like app.wasm";
  if (path.includes("\0")) return `${shown} contains a NUL character`;
  if (path.includes("\\")) return `${shown} contains "\\": separate directories with "/"`;
  if (CONTROL.test(path)) return `${shown} contains control characters: rename the file`;
  if (byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith("/")) return `${shown} is absolute: write it relative to the package directory, like app.wasm`;
  for (const segment of path.split("/")) {
    if (segment === "..") return `${shown} goes outside the package (".."): the file must be inside the package directory`;
    if (segment === ".") return `${shown} has a "." segment: write it without "./"`;
    if (segment === "") return `${shown} has an empty segment (a doubled or trailing "/")`;
  }
  return undefined;
}

function typeName(input: unknown): string {
  if (input === undefined) return "missing";
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (input instanceof Date) return "a date"; // smol-toml's TomlDate extends Date
  if (typeof input === "number") return Number.isInteger(input) ? "an integer" : "a float";
  if (typeof input === "object") return "a table";
  return `a ${typeof input}`;
}

/**
 * Messages for valibot issues. A missing key is reported by the enclosing table's schema (with the key as
 * the issue path), so each table carries the hints for its required keys; a wrong type is reported by the
 * value's own schema.
 */
const mistyped =
  (what: string, missingHints: Record<string, string> = {}) =>
  (issue: v.BaseIssue<unknown>): string => {
    if (issue.input === undefined) {
      const key = issue.path?.[0]?.key;
      const hint = typeof key === "string" ? missingHints[key] : undefined;
      return hint === undefined ? "is missing" : `is missing: add ${hint}`;
    }
    return `must be ${what}, not ${typeName(issue.input)}`;
  };

/** A TOML table. valibot's `object` also accepts arrays and dates, which TOML values can be, so guard first. */
const table = <const TEntries extends v.ObjectEntries>(
  entries: TEntries,
  what: string,
  missingHints: Record<string, string>,
) =>
  v.pipe(
    v.custom<Record<string, unknown>>(isTable, mistyped(what)),
    v.object(entries, mistyped(what, missingHints)),
  );

const textField = (opts: { maxBytes: number; newlines: boolean; emptyMessage?: string }) =>
  v.pipe(
    v.string(mistyped("a string")),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const text = dataset.value;
      if (opts.emptyMessage !== undefined && text.trim().length === 0) {
        addIssue({ message: opts.emptyMessage });
      } else if (byteLength(text) > opts.maxBytes) {
        addIssue({ message: `is ${byteLength(text)} bytes of UTF-8: shorten it to at most ${opts.maxBytes} bytes` });
      } else if ((opts.newlines ? CONTROL_EXCEPT_NEWLINE_TAB : CONTROL).test(text)) {
        addIssue({
          message: opts.newlines
            ? "contains control characters: remove them (newlines and tabs are allowed)"
            : "contains control characters (like a newline or escape): keep it on one line of plain text",
        });
      }
    }),
  );

const pathField = v.pipe(
  v.string(mistyped("a string")),
  v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = packagePathProblem(dataset.value);
    if (problem !== undefined) addIssue({ message: problem });
  }),
);

const capabilitySchema = v.pipe(
  v.string((issue) => `must be a string like "fs:rw:app-data", not ${typeName(issue.input)}`),
  v.rawTransform<string, Capability>(({ dataset, addIssue, NEVER }) => {
    const parsed = parseCapability(dataset.value);
    if (parsed.ok) return parsed.capability;
    addIssue({ message: parsed.message });
    return NEVER;
  }),
);

const capabilitiesSchema = v.pipe(
  v.optional(v.array(capabilitySchema, mistyped('an array of strings, like ["fs:rw:app-data"]')), []),
  v.check((list) => list.length <= MAX_CAPABILITIES, `lists more than ${MAX_CAPABILITIES} capabilities: declare only what the app uses`),
);

const idSchema = v.pipe(
  v.string(mistyped("a string")),
  v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = appIdProblem(dataset.value);
    if (problem !== undefined) addIssue({ message: `${JSON.stringify(dataset.value)} is not a valid app id: it ${problem}` });
  }),
);

const versionSchema = v.pipe(
  v.string(mistyped("a string")),
  v.check(
    isSemver,
    (issue) =>
      `${JSON.stringify(issue.input)} is not a semantic version: write MAJOR.MINOR.PATCH without leading zeros, like 1.0.0 or 1.0.0-beta.1`,
  ),
);

const manifestSchema = table(
  {
    package: table(
      {
        id: idSchema,
        name: textField({ maxBytes: MAX_NAME_BYTES, newlines: false, emptyMessage: "is empty: write the name users see" }),
        version: versionSchema,
        description: v.optional(textField({ maxBytes: MAX_DESCRIPTION_BYTES, newlines: true })),
        author: v.optional(textField({ maxBytes: MAX_AUTHOR_BYTES, newlines: false })),
        capabilities: capabilitiesSchema,
      },
      "a table ([package])",
      {
        id: 'id = "org.example.app" (a reverse-DNS app id)',
        name: 'name = "My App" (the name users see)',
        version: 'version = "0.1.0" (a semantic version)',
      },
    ),
    runtime: table({ module: pathField }, "a table ([runtime])", {
      module: 'module = "app.wasm" (the component, relative to the package directory)',
    }),
    ui: table({ entry: pathField }, "a table ([ui])", {
      entry: 'entry = "ui/index.html" (the UI page, relative to the package directory)',
    }),
  },
  "a TOML table",
  {
    package: "a [package] table with id, name and version",
    runtime: 'a [runtime] table with module = "app.wasm"',
    ui: 'a [ui] table with entry = "ui/index.html"',
  },
);

/** The keys WEFT knows, per table; anything else is reported as a warning naming its path. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": ["package", "runtime", "ui"],
  package: ["id", "name", "version", "description", "author", "capabilities"],
  runtime: ["module"],
  ui: ["entry"],
};

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeName(value) === "a table";
}

function unknownKeyWarnings(raw: unknown): Diagnostic[] {
  const warnings: Diagnostic[] = [];
  const visit = (table: unknown, path: string) => {
    if (!isTable(table)) return;
    const known = KNOWN_KEYS[path] ?? [];
    for (const key of Object.keys(table)) {
      const keyPath = path === "" ? key : `${path}.${key}`;
      if (!known.includes(key)) {
        const where = path === "" ? "at the top level" : `in [${path}]`;
        warnings.push({
          field: keyPath,
          message: `unknown key, ignored: check its spelling (known keys ${where}: ${known.join(", ")})`,
        });
      } else if (KNOWN_KEYS[keyPath] !== undefined) {
        visit(table[key], keyPath);
      }
    }
  };
  visit(raw, "");
  return warnings;
}

/** The issue's key path as a field name: `package.capabilities.2` → `package.capabilities[2]`. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  let field = "";
  for (const item of issue.path ?? []) {
    const key = item.key;
    field += typeof key === "number" ? `[${key}]` : field === "" ? String(key) : `.${String(key)}`;
  }
  return field === "" ? MANIFEST_FILE : field;
}

function capabilityWarnings(capabilities: readonly Capability[]): { unique: Capability[]; warnings: Diagnostic[] } {
  const warnings: Diagnostic[] = [];
  const unique: Capability[] = [];
  const seen = new Set<string>();
  for (const capability of capabilities) {
    if (seen.has(capability.name)) {
      warnings.push({ field: "package.capabilities", message: `${capability.name} is listed more than once: remove the repeats` });
      continue;
    }
    seen.add(capability.name);
    unique.push(capability);
  }
  // Redundant pairs are harmless (the stronger grant wins) but usually a mistake worth pointing out.
  const implied: [string, string][] = [
    ["fs:rw:app-data", "fs:read:app-data"],
    ["fs:rw:xdg-documents", "fs:read:xdg-documents"],
  ];
  for (const [stronger, weaker] of implied) {
    if (seen.has(stronger) && seen.has(weaker)) {
      warnings.push({ field: "package.capabilities", message: `${weaker} is implied by ${stronger}: remove ${weaker}` });
    }
  }
  if (seen.has("net:fetch:*")) {
    const hosts = unique.filter((c) => c.host !== undefined).map((c) => c.name);
    if (hosts.length > 0) {
      warnings.push({
        field: "package.capabilities",
        message: `net:fetch:* allows every host, so ${hosts.join(", ")} add nothing: keep net:fetch:* or the named hosts, not both`,
      });
    }
  }
  return { unique, warnings };
}

function tableAt(raw: unknown, key: string): unknown {
  return isTable(raw) ? raw[key] : undefined;
}

/**
 * Validates an already-parsed TOML value (a table) as a manifest, returning the fields that were valid on
 * their own beside the report.
 */
export function analyseManifestValue(raw: unknown): ManifestAnalysis {
  const warnings = unknownKeyWarnings(raw);
  const result = v.safeParse(manifestSchema, raw, { abortEarly: false });

  // The parts a package check can still use when another field is wrong.
  const moduleResult = v.safeParse(pathField, tableAt(tableAt(raw, "runtime"), "module"));
  const entryResult = v.safeParse(pathField, tableAt(tableAt(raw, "ui"), "entry"));
  const rawCapabilities = tableAt(tableAt(raw, "package"), "capabilities");
  const validCapabilities = Array.isArray(rawCapabilities)
    ? rawCapabilities.flatMap((item) => {
        const one = v.safeParse(capabilitySchema, item);
        return one.success ? [one.output] : [];
      })
    : [];
  const { unique, warnings: capabilityNotes } = capabilityWarnings(validCapabilities);
  warnings.push(...capabilityNotes);
  const valid = {
    ...(moduleResult.success ? { module: moduleResult.output } : {}),
    ...(entryResult.success ? { entry: entryResult.output } : {}),
    capabilities: unique,
  };

  if (!result.success) return { errors: result.issues.map((issue) => ({ field: fieldOf(issue), message: issue.message })), warnings, valid };
  const { package: pkg, runtime, ui } = result.output;
  const manifest: Manifest = {
    package: {
      id: pkg.id,
      name: pkg.name,
      version: pkg.version,
      ...(pkg.description !== undefined ? { description: pkg.description } : {}),
      ...(pkg.author !== undefined ? { author: pkg.author } : {}),
      capabilities: unique,
    },
    runtime: { module: runtime.module },
    ui: { entry: ui.entry },
  };
  return { manifest, errors: [], warnings, valid };
}

/** Like `analyseManifestValue`, without the partial results. */
export function validateManifest(raw: unknown): ManifestReport {
  const { manifest, errors, warnings } = analyseManifestValue(raw);
  return manifest === undefined ? { errors, warnings } : { manifest, errors, warnings };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses and validates manifest text (or its bytes, which must be UTF-8), with the partial results. */
export function analyseManifest(source: string | Uint8Array): ManifestAnalysis {
  const failed = (message: string): ManifestAnalysis => ({
    errors: [{ field: MANIFEST_FILE, message }],
    warnings: [],
    valid: { capabilities: [] },
  });
  const size = typeof source === "string" ? byteLength(source) : source.length;
  if (size > MAX_MANIFEST_BYTES) {
    return failed(`is ${size} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES} bytes (64 KiB): remove what WEFT does not read`);
  }
  let text: string;
  if (typeof source === "string") {
    text = source;
  } else {
    try {
      text = strictUtf8.decode(source);
    } catch {
      return failed("is not valid UTF-8: save it as UTF-8 text");
    }
  }
  let raw: unknown;
  try {
    // 'throw' refuses __proto__/constructor keys; a manifest has no business with them.
    raw = parseToml(text, { unsafeKeyBehaviour: "throw", maxDepth: 16 });
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.replace(/^Invalid TOML document: /, "").split("\n")[0] ?? "";
      return failed(`is not valid TOML: line ${error.line}, column ${error.column}: ${reason}; fix the syntax there`);
    }
    return failed(`could not be parsed as TOML: ${error instanceof Error ? error.message : String(error)}`);
  }
  return analyseManifestValue(raw);
}

/** Parses and validates manifest text (or UTF-8 bytes). `manifest` is set exactly when there are no errors. */
export function parseManifest(source: string | Uint8Array): ManifestReport {
  const { manifest, errors, warnings } = analyseManifest(source);
  return manifest === undefined ? { errors, warnings } : { manifest, errors, warnings };
}
