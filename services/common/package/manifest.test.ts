import { describe, expect, test } from "bun:test";
import { stringify } from "smol-toml";
import {
  type Diagnostic,
  isSemver,
  MAX_CAPABILITIES,
  MAX_MANIFEST_BYTES,
  type ManifestReport,
  packagePathProblem,
  parseManifest,
  validateManifest,
} from "./manifest.ts";
import { testManifest } from "../../../testing/components.ts";

/** A manifest text built from the test defaults with per-table overrides (`null` removes a key). */
function manifestText(overrides: Parameters<typeof testManifest>[0] = {}): string {
  return stringify(testManifest(overrides));
}

function errorsOf(report: ManifestReport): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const e of report.errors) byField[e.field] = e.message;
  return byField;
}

function onlyError(report: ManifestReport): Diagnostic {
  expect(report.manifest).toBeUndefined();
  expect(report.errors).toHaveLength(1);
  return report.errors[0] as Diagnostic;
}

describe("a valid manifest", () => {
  test("parses into typed fields", () => {
    const report = parseManifest(`
[package]
id = "org.weft.demo.notes"
name = "Notes"
version = "0.1.0"
description = "Plain-text notes.\\nSecond line."
author = "WEFT"
capabilities = ["fs:rw:app-data", "net:fetch:api.example.com"]

[runtime]
module = "bin/app.wasm"

[ui]
entry = "ui/index.html"
`);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    const manifest = report.manifest!;
    expect(manifest.package).toMatchObject({
      id: "org.weft.demo.notes",
      name: "Notes",
      version: "0.1.0",
      description: "Plain-text notes.\nSecond line.",
      author: "WEFT",
    });
    expect(manifest.package.capabilities.map((c) => c.name)).toEqual(["fs:rw:app-data", "net:fetch:api.example.com"]);
    expect(manifest.package.capabilities[1]?.host).toEqual({ domain: "api.example.com", subdomains: false });
    expect(manifest.runtime.module).toBe("bin/app.wasm");
    expect(manifest.ui.entry).toBe("ui/index.html");
  });

  test("capabilities default to none; optional fields stay absent", () => {
    const manifest = parseManifest(manifestText({ package: { capabilities: null } })).manifest!;
    expect(manifest.package.capabilities).toEqual([]);
    expect("description" in manifest.package).toBe(false);
    expect("author" in manifest.package).toBe(false);
  });

  test("accepts UTF-8 bytes, with or without a byte-order mark", () => {
    const bytes = new TextEncoder().encode(manifestText());
    expect(parseManifest(bytes).errors).toEqual([]);
    expect(parseManifest(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])).errors).toEqual([]);
  });
});

describe("malformed or oversized input", () => {
  test("malformed TOML is one error naming line and column", () => {
    const error = onlyError(parseManifest('[package]\nid = "org.weft.app"\nname = "unterminated\nversion = "1.0.0"\n'));
    expect(error.field).toBe("wapp.toml");
    expect(error.message).toMatch(/line 3, column \d+/);
    expect(error.message).toContain("not valid TOML");
  });

  test.each([
    ["[package", "line 1"],
    ["a = 1\na = 2", "line 2"],
    ["[package]\n[package]", "line 2"],
    ["x = [1, 2", "line 1"],
  ])("%p is reported with its position", (text, where) => {
    expect(onlyError(parseManifest(text)).message).toContain(where);
  });

  test("a manifest over 64 KiB is refused before parsing, saying the limit", () => {
    const huge = manifestText() + "# " + "x".repeat(MAX_MANIFEST_BYTES) + "\n";
    const error = onlyError(parseManifest(huge));
    expect(error.field).toBe("wapp.toml");
    expect(error.message).toContain(String(MAX_MANIFEST_BYTES));
    expect(error.message).toContain("64 KiB");
    expect(onlyError(parseManifest(new TextEncoder().encode(huge))).message).toContain("64 KiB");
  });

  test("a manifest of exactly 64 KiB is still read", () => {
    const base = manifestText();
    const padded = base + "#" + "x".repeat(MAX_MANIFEST_BYTES - base.length - 2) + "\n";
    expect(new TextEncoder().encode(padded).length).toBe(MAX_MANIFEST_BYTES);
    expect(parseManifest(padded).errors).toEqual([]);
  });

  test("the size limit counts bytes, not characters", () => {
    const base = manifestText();
    const room = MAX_MANIFEST_BYTES - base.length - 2;
    const padded = base + "#" + "é".repeat(Math.ceil(room / 2) + 1) + "\n"; // fewer characters than bytes
    expect(padded.length).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    expect(onlyError(parseManifest(padded)).message).toContain("64 KiB");
  });

  test("bytes that are not UTF-8 are refused", () => {
    expect(onlyError(parseManifest(new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]))).message).toContain("UTF-8");
  });

  test("deeply nested values are refused, not recursed into", () => {
    const deep = manifestText() + "x = " + "[".repeat(5000) + "]".repeat(5000) + "\n";
    expect(onlyError(parseManifest(deep)).field).toBe("wapp.toml");
  });

  test("__proto__ keys are refused", () => {
    expect(onlyError(parseManifest(manifestText() + "[__proto__]\nid = 1\n")).field).toBe("wapp.toml");
    expect(onlyError(parseManifest('__proto__.polluted = "yes"\n')).field).toBe("wapp.toml");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test.each([[null], [42], ["text"], [[]], [new Date(0)]])("a non-table value %p is an error, not a crash", (value) => {
    const report = validateManifest(value);
    expect(report.manifest).toBeUndefined();
    expect(report.errors[0]?.field).toBe("wapp.toml");
  });
});

describe("tables and types", () => {
  test("an empty document names each missing table and what to add", () => {
    const errors = errorsOf(parseManifest(""));
    expect(Object.keys(errors).sort()).toEqual(["package", "runtime", "ui"]);
    expect(errors.package).toContain("add a [package] table");
    expect(errors.runtime).toContain('module = "app.wasm"');
    expect(errors.ui).toContain('entry = "ui/index.html"');
  });

  test("missing required keys are each named", () => {
    const errors = errorsOf(parseManifest(manifestText({ package: { id: null, name: null, version: null }, runtime: {} , ui: { entry: null } })));
    expect(Object.keys(errors).sort()).toEqual(["package.id", "package.name", "package.version", "ui.entry"]);
    expect(errors["package.id"]).toContain("is missing: add id =");
    expect(errors["package.version"]).toContain('version = "0.1.0"');
  });

  test.each([
    ['package = "x"\n[runtime]\nmodule = "a.wasm"\n[ui]\nentry = "i.html"', "package", "must be a table ([package]), not a string"],
    ['package = 1979-05-27\n[runtime]\nmodule = "a.wasm"\n[ui]\nentry = "i.html"', "package", "not a date"],
    ['runtime = []\n[package]\nid="a.b.c"\nname="n"\nversion="1.0.0"\n[ui]\nentry="i.html"', "runtime", "not an array"],
  ])("a table of the wrong type is an error (%#)", (text, field, fragment) => {
    expect(errorsOf(parseManifest(text))[field]).toContain(fragment);
  });

  test.each([
    ["package.name", { package: { name: 3 } }, "must be a string, not an integer"],
    ["package.version", { package: { version: 1.5 } }, "must be a string, not a float"],
    ["package.id", { package: { id: true } }, "must be a string, not a boolean"],
    ["package.capabilities", { package: { capabilities: "fs:rw:app-data" } }, "must be an array of strings"],
    ["package.capabilities[1]", { package: { capabilities: ["fs:rw:app-data", 7] } }, "not an integer"],
    ["package.description", { package: { description: ["x"] } }, "not an array"],
    ["runtime.module", { runtime: { module: { path: "a" } } }, "not a table"],
    ["ui.entry", { ui: { entry: 1 } }, "not an integer"],
  ])("%s of the wrong type is reported (%#)", (field, overrides, fragment) => {
    const report = parseManifest(manifestText(overrides));
    expect(report.manifest).toBeUndefined();
    expect(errorsOf(report)[field]).toContain(fragment);
  });
});

describe("package.id", () => {
  test.each([
    ["..", "empty segment"],
    ["../../etc", "empty segment"],
    ["Org.weft.app", "Org"],
    ["org.weft.App", "App"],
    ["org.weft", "three"],
    ["org.weft.my-app", "my-app"],
    ["org.weft.app/../x", "app/"],
    ["", "is empty"],
  ])("%p is rejected, naming the problem", (id, fragment) => {
    const error = errorsOf(parseManifest(manifestText({ package: { id } })))["package.id"];
    expect(error).toContain("not a valid app id");
    expect(error).toContain(fragment);
  });
});

describe("package.name", () => {
  const nameError = (name: string) => errorsOf(parseManifest(manifestText({ package: { name } })))["package.name"];

  test("64 bytes is the limit, counted in UTF-8 bytes", () => {
    expect(nameError("x".repeat(64))).toBeUndefined();
    expect(nameError("x".repeat(65))).toContain("65 bytes");
    expect(nameError("é".repeat(32))).toBeUndefined(); // 32 characters, 64 bytes
    expect(nameError("é".repeat(33))).toContain("66 bytes"); // 33 characters, 66 bytes
    expect(nameError("名".repeat(22))).toContain("66 bytes"); // 22 characters, 3 bytes each
    expect(nameError("🦀".repeat(17))).toContain("68 bytes");
  });

  test.each(["", "   ", "\t"])("%p is empty", (name) => {
    expect(nameError(name)).toContain("is empty");
  });

  test.each(["Evil\u001b[2J", "two\nlines", "bell\u0007", "c1\u009b"])("%p with control characters is rejected", (name) => {
    expect(nameError(name)).toContain("control characters");
  });
});

describe("package.version", () => {
  test.each([
    "0.1.0",
    "1.0.0",
    "10.20.30",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--",
    "1.0.0+20130313144700",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
  ])("accepts %p", (version) => {
    expect(isSemver(version)).toBe(true);
    expect(parseManifest(manifestText({ package: { version } })).errors).toEqual([]);
  });

  test.each([
    "1.0",
    "1",
    "01.0.0",
    "1.02.0",
    "1.0.0-01",
    "1.0.0-",
    "1.0.0+",
    "1.0.0-alpha..1",
    "1.0.0-alpha_beta",
    "v1.0.0",
    " 1.0.0",
    "1.0.0\n",
    "",
    "1.0.0.0",
    `1.0.0-${"a".repeat(200)}`,
  ])("rejects %p with a hint", (version) => {
    expect(isSemver(version)).toBe(false);
    expect(errorsOf(parseManifest(manifestText({ package: { version } })))["package.version"]).toContain("MAJOR.MINOR.PATCH");
  });
});

describe("runtime.module and ui.entry", () => {
  test.each([
    ["../app.wasm", "outside the package"],
    ["bin/../../app.wasm", "outside the package"],
    ["/etc/passwd", "absolute"],
    ["", "is empty"],
    ["./app.wasm", '"." segment'],
    ["bin//app.wasm", "empty segment"],
    ["bin/", "empty segment"],
    ["bin\\app.wasm", '"\\"'],
    ["app\0.wasm", "NUL"],
    ["app\n.wasm", "control characters"],
    ["a/".repeat(600) + "x", "longer than"],
  ])("%p is rejected (%s)", (path, fragment) => {
    expect(packagePathProblem(path)).toContain(fragment);
    const errors = errorsOf(parseManifest(manifestText({ runtime: { module: path }, ui: { entry: path } })));
    expect(errors["runtime.module"]).toContain(fragment);
    expect(errors["ui.entry"]).toContain(fragment);
  });

  test.each(["app.wasm", "bin/app.wasm", "ui/index.html", "a b/ü.html", "..app/x", "x.."])("%p is accepted", (path) => {
    expect(packagePathProblem(path)).toBeUndefined();
  });
});

describe("package.capabilities", () => {
  const capabilityReport = (capabilities: unknown[]) => parseManifest(manifestText({ package: { capabilities } }));

  test("an unknown capability is an error naming its index", () => {
    const errors = errorsOf(capabilityReport(["fs:rw:app-data", "sys:camera"]));
    expect(errors["package.capabilities[1]"]).toContain("not a known capability");
  });

  test("bare net:fetch is an error that says what to write", () => {
    const error = errorsOf(capabilityReport(["net:fetch"]))["package.capabilities[0]"];
    expect(error).toContain("net:fetch:<host>");
    expect(error).toContain("net:fetch:*");
  });

  test.each(["net:fetch:https://x.com", "net:fetch:10.0.0.1", "net:fetch:X.com", "net:fetch:*.com", "net:fetch:a.com:99999"])(
    "a bad host %p is an error",
    (capability) => {
      expect(errorsOf(capabilityReport([capability]))["package.capabilities[0]"]).toContain("the host");
    },
  );

  test("duplicates are a warning and are dropped", () => {
    const report = capabilityReport(["sys:notifications", "sys:notifications"]);
    expect(report.errors).toEqual([]);
    expect(report.manifest!.package.capabilities.map((c) => c.name)).toEqual(["sys:notifications"]);
    expect(report.warnings).toEqual([{ field: "package.capabilities", message: expect.stringContaining("more than once") }]);
  });

  test("redundant pairs are warnings", () => {
    const messages = capabilityReport(["fs:rw:app-data", "fs:read:app-data", "net:fetch:*", "net:fetch:a.example.com"]).warnings.map(
      (w) => w.message,
    );
    expect(messages.some((m) => m.includes("fs:read:app-data is implied by fs:rw:app-data"))).toBe(true);
    expect(messages.some((m) => m.includes("net:fetch:a.example.com"))).toBe(true);
  });

  test(`more than ${MAX_CAPABILITIES} capabilities are refused`, () => {
    const many = Array.from({ length: MAX_CAPABILITIES + 1 }, (_, i) => `net:fetch:host${i}.example.com`);
    expect(errorsOf(capabilityReport(many))["package.capabilities"]).toContain(`more than ${MAX_CAPABILITIES}`);
  });
});

describe("unknown keys and collected errors", () => {
  test("unknown keys at any level are warnings naming their path", () => {
    const text = manifestText({ package: { homepage: "https://x" }, runtime: { args: ["-v"] }, ui: { title: "T" } }) + "\n[build]\ncommand = \"make\"\n";
    const report = parseManifest(text);
    expect(report.errors).toEqual([]);
    expect(report.manifest).toBeDefined();
    expect(report.warnings.map((w) => w.field).sort()).toEqual(["build", "package.homepage", "runtime.args", "ui.title"]);
    expect(report.warnings.find((w) => w.field === "package.homepage")?.message).toContain("known keys in [package]");
  });

  test("every problem is reported at once, each naming its field", () => {
    const report = parseManifest(
      manifestText({
        package: { id: "Bad.Id", name: "", version: "1.0", capabilities: ["net:fetch", "sys:camera"], extra: 1 },
        runtime: { module: "../app.wasm" },
        ui: { entry: "/etc/passwd" },
      }),
    );
    expect(report.manifest).toBeUndefined();
    expect(report.errors.map((e) => e.field).sort()).toEqual([
      "package.capabilities[0]",
      "package.capabilities[1]",
      "package.id",
      "package.name",
      "package.version",
      "runtime.module",
      "ui.entry",
    ]);
    expect(report.warnings.map((w) => w.field)).toEqual(["package.extra"]);
  });
});
