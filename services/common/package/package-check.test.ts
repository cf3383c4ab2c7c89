import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MAX_COMPONENT_BYTES } from "./component.ts";
import { MAX_MANIFEST_BYTES } from "./manifest.ts";
import { checkPackage, type PackageCheckReport, readManifest, resolveInsidePackage } from "./package-check.ts";
import {
  buildComponent,
  buildCoreModule,
  makeTempDir,
  type TestPackageOptions,
  testManifest,
  writeTestPackage,
} from "../../../testing/components.ts";

let scratch: string;
let counter = 0;

beforeAll(async () => {
  scratch = await makeTempDir("weft-package-check-");
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh package directory with the given contents. */
async function pkg(options: TestPackageOptions = {}): Promise<string> {
  return writeTestPackage(join(scratch, `pkg-${++counter}`), options);
}

function fields(report: PackageCheckReport): string[] {
  return report.errors.map((e) => e.field);
}

function errorFor(report: PackageCheckReport, field: string): string {
  const found = report.errors.find((e) => e.field === field);
  if (found === undefined) throw new Error(`no error for ${field}; errors: ${JSON.stringify(report.errors)}`);
  return found.message;
}

/** A package whose component imports `imports` and whose manifest declares `capabilities`. */
async function importing(imports: string[], capabilities: string[] = []): Promise<PackageCheckReport> {
  return checkPackage(await pkg({ manifest: { package: { capabilities } }, component: await buildComponent({ imports }) }));
}

describe("a valid package", () => {
  test("writeTestPackage's default package passes with nothing to say", async () => {
    const report = await checkPackage(await pkg());
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.manifest?.package.id).toBe("org.weft.test.app");
    expect([...(report.component?.imports ?? [])].sort()).toEqual(["weft:app/ipc@0.1.0", "weft:app/notify@0.1.0"]);
    expect(report.component?.exports).toEqual(["wasi:cli/run@0.2.0"]);
  });

  test("modules and entries in subdirectories are fine", async () => {
    const dir = await pkg({ manifest: { runtime: { module: "bin/app.wasm" }, ui: { entry: "web/index.html" } }, component: null, files: { "web/index.html": null } });
    await mkdir(join(dir, "bin"));
    await writeFile(join(dir, "bin/app.wasm"), await buildComponent());
    await mkdir(join(dir, "web"));
    await writeFile(join(dir, "web/index.html"), "<p>hi</p>");
    const report = await checkPackage(dir);
    expect(report.errors).toEqual([]);
  });

  test("a symlink anywhere in the package is refused, even one that stays inside: the rule sign and install apply", async () => {
    const dir = await pkg();
    await mkdir(join(dir, "ui"), { recursive: true });
    await writeFile(join(dir, "ui/style.css"), "p {}");
    await symlink("style.css", join(dir, "ui/alias.css"));
    const report = await checkPackage(dir);
    expect(report.errors).toEqual([
      { field: "ui/alias.css", message: '"ui/alias.css" is a symlink: WEFT packages may not contain symlinks (copy the target into the package instead)' },
    ]);
  });

  test("the package directory may itself be reached through a symlink", async () => {
    const dir = await pkg();
    const link = join(scratch, `link-${++counter}`);
    await symlink(dir, link);
    expect((await checkPackage(link)).errors).toEqual([]);
  });
});

describe("the package directory and its manifest", () => {
  test("a directory that does not exist", async () => {
    const report = await checkPackage(join(scratch, "nope"));
    expect(report.errors).toEqual([{ field: "package", message: expect.stringContaining("does not exist") }]);
  });

  test("a file instead of a directory", async () => {
    const file = join(scratch, `file-${++counter}`);
    await writeFile(file, "x");
    expect(fields(await checkPackage(file))).toEqual(["package"]);
  });

  test("no wapp.toml", async () => {
    const report = await checkPackage(await pkg({ files: { "wapp.toml": null } }));
    expect(errorFor(report, "wapp.toml")).toContain("is missing");
  });

  test("wapp.toml over 64 KiB is refused without being parsed", async () => {
    const dir = await pkg({ manifest: "# " + "x".repeat(MAX_MANIFEST_BYTES) });
    expect(errorFor(await checkPackage(dir), "wapp.toml")).toContain("64 KiB");
  });

  test("wapp.toml as a symlink out of the package is refused", async () => {
    const dir = await pkg({ files: { "wapp.toml": null } });
    await symlink("/etc/passwd", join(dir, "wapp.toml"));
    expect(errorFor(await checkPackage(dir), "wapp.toml")).toContain("absolute path");
  });

  test("manifest errors and component errors are reported together", async () => {
    const report = await checkPackage(
      await pkg({ manifest: { package: { id: "Bad.Id", version: "1.0", capabilities: ["net:fetch"] } }, component: await buildCoreModule() }),
    );
    expect(report.manifest).toBeUndefined();
    expect(fields(report).sort()).toEqual(["app.wasm", "package.capabilities[0]", "package.id", "package.version"]);
    expect(errorFor(report, "app.wasm")).toContain("core WebAssembly module");
  });
});

describe("runtime.module and ui.entry on disk", () => {
  test("a missing module and a missing UI entry are both named", async () => {
    const report = await checkPackage(await pkg({ component: null, files: { "ui/index.html": null } }));
    expect(errorFor(report, "runtime.module")).toContain('"app.wasm" does not exist');
    expect(errorFor(report, "ui.entry")).toContain('"ui/index.html" does not exist');
  });

  test("lexically escaping paths are reported once, from the manifest", async () => {
    const report = await checkPackage(await pkg({ manifest: { runtime: { module: "../app.wasm" }, ui: { entry: "/etc/passwd" } } }));
    expect(errorFor(report, "runtime.module")).toContain("outside the package");
    expect(errorFor(report, "ui.entry")).toContain("absolute");
    expect(report.errors).toHaveLength(2);
  });

  test("a module symlink to a file outside the package, by relative path", async () => {
    const dir = await pkg({ component: null });
    await writeFile(join(scratch, "outside.wasm"), await buildComponent());
    await symlink("../outside.wasm", join(dir, "app.wasm"));
    expect(errorFor(await checkPackage(dir), "runtime.module")).toContain("leads outside the package");
  });

  test("a module symlink to an absolute path, even one inside the package", async () => {
    const dir = await pkg({ component: null, files: { "real.wasm": await buildComponent() } });
    await symlink(join(dir, "real.wasm"), join(dir, "app.wasm"));
    expect(errorFor(await checkPackage(dir), "runtime.module")).toContain("absolute path");
  });

  test("a directory symlink on the way out of the package", async () => {
    const dir = await pkg({ files: { "ui/index.html": null } });
    await rm(join(dir, "ui"), { recursive: true, force: true });
    await mkdir(join(scratch, `elsewhere-${counter}`));
    await writeFile(join(scratch, `elsewhere-${counter}`, "index.html"), "<p>outside</p>");
    await symlink(`../elsewhere-${counter}`, join(dir, "ui"));
    expect(errorFor(await checkPackage(dir), "ui.entry")).toContain("leads outside the package");
  });

  test("a module reached through symlinks that stay inside resolves (only the walk's no-symlink rule refuses it)", async () => {
    const dir = await pkg({ component: null, files: { "lib/real.wasm": await buildComponent() } });
    await mkdir(join(dir, "a/b"), { recursive: true });
    await symlink("../../lib/real.wasm", join(dir, "a/b/link.wasm"));
    await symlink("a/b/link.wasm", join(dir, "app.wasm"));
    const { errors } = await checkPackage(dir);
    expect(errors.length).toBe(1);
    expect(errors[0]!.message).toContain("is a symlink: WEFT packages may not contain symlinks");
  });

  test.each([
    ["a two-link loop", [["app.wasm", "other.wasm"], ["other.wasm", "app.wasm"]]],
    ["a self loop", [["app.wasm", "app.wasm"]]],
    ["a growing loop", [["app.wasm", "d/app.wasm"], ["d", "."]]],
  ])("%s ends with an error, quickly", async (_what, links) => {
    const dir = await pkg({ component: null });
    for (const [name, target] of links as [string, string][]) await symlink(target, join(dir, name));
    const started = performance.now();
    const report = await checkPackage(dir);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(errorFor(report, "runtime.module")).toContain("too many symlinks");
  });

  test("a directory, a FIFO and a path through a file are not modules", async () => {
    const dir = await pkg({
      manifest: { runtime: { module: "dir.wasm" }, ui: { entry: "ui/index.html/x" } },
      component: null,
      files: { "ui/index.html/x": null, "ui/index.html": "<p>a file, not a directory</p>" },
    });
    await mkdir(join(dir, "dir.wasm"));
    const report = await checkPackage(dir);
    expect(errorFor(report, "runtime.module")).toContain("not a regular file");
    expect(errorFor(report, "ui.entry")).toContain("not a directory");

    const fifoDir = await pkg({ component: null });
    const made = Bun.spawnSync(["mkfifo", join(fifoDir, "app.wasm")]);
    if (made.exitCode === 0) expect(errorFor(await checkPackage(fifoDir), "runtime.module")).toContain("not a regular file");
  });

  test("resolveInsidePackage returns the real path inside the root", async () => {
    const dir = await pkg({ files: { "x/y.txt": "y" } });
    await symlink("x", join(dir, "alias"));
    const resolved = await resolveInsidePackage(dir, "alias/y.txt");
    expect(resolved).toEqual({ ok: true, path: join(dir, "x/y.txt") });
    expect(await resolveInsidePackage(dir, "x")).toMatchObject({ ok: false, reason: "not-a-file" });
    expect(await resolveInsidePackage(dir, "nope/y.txt")).toMatchObject({ ok: false, reason: "missing" });
  });
});

describe("the component", () => {
  test("a core module instead of a component, with a way out", async () => {
    const message = errorFor(await checkPackage(await pkg({ component: await buildCoreModule() })), "app.wasm");
    expect(message).toContain("not a component");
    expect(message).toContain("wasm-tools component new");
  });

  test("a file that is not Wasm at all", async () => {
    const report = await checkPackage(await pkg({ component: new TextEncoder().encode("#!/bin/sh\necho hi\n") }));
    expect(errorFor(report, "app.wasm")).toContain("not a WebAssembly binary");
  });

  test("a truncated component", async () => {
    const whole = await buildComponent({ imports: ["weft:app/notify@0.1.0"] });
    const report = await checkPackage(await pkg({ component: whole.subarray(0, Math.floor(whole.length / 2)) }));
    expect(errorFor(report, "app.wasm")).toContain("not a valid component");
  });

  test("the error names the module by its manifest path", async () => {
    const report = await checkPackage(await pkg({ manifest: { runtime: { module: "bin/main.wasm" } }, component: await buildCoreModule() }));
    expect(fields(report)).toEqual(["bin/main.wasm"]);
  });

  test("a component over the size limit is refused before it is read", async () => {
    const dir = await pkg({ component: new Uint8Array() });
    await truncate(join(dir, "app.wasm"), MAX_COMPONENT_BYTES + 1); // sparse: costs no disk
    const started = performance.now();
    const message = errorFor(await checkPackage(dir), "app.wasm");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(message).toContain(String(MAX_COMPONENT_BYTES + 1));
    expect(message).toContain("256 MiB");
  });

  test("no wasi:cli/run export", async () => {
    const report = await checkPackage(await pkg({ component: await buildComponent({ exportRun: false }) }));
    expect(errorFor(report, "app.wasm")).toContain("does not export wasi:cli/run@0.2.x");
  });

  test("wasi:cli/run of another version", async () => {
    const report = await checkPackage(
      await pkg({ component: await buildComponent({ exportRun: false, exports: ["wasi:cli/run@0.3.0"] }) }),
    );
    expect(errorFor(report, "app.wasm")).toContain("exports wasi:cli/run@0.3.0, not wasi:cli/run@0.2.x");
  });

  test("any 0.2.x wasi:cli/run is accepted", async () => {
    const report = await checkPackage(await pkg({ component: await buildComponent({ exportRun: false, exports: ["wasi:cli/run@0.2.6"] }) }));
    expect(report.errors).toEqual([]);
  });
});

describe("imports against capabilities", () => {
  test("weft:app/fetch without a capability names both the interface and the capability to add", async () => {
    const report = await importing(["weft:app/fetch@0.1.0"]);
    const message = errorFor(report, "package.capabilities");
    expect(message).toContain("weft:app/fetch@0.1.0");
    expect(message).toContain('"net:fetch:<host>"');
    expect(message).toContain('"net:fetch:*"');
  });

  test.each([
    [["weft:app/fetch@0.1.0"], ["net:fetch:api.example.com"]],
    [["weft:app/fetch@0.1.0"], ["net:fetch:*"]],
    [["weft:app/notifications@0.1.0"], ["sys:notifications"]],
    [["weft:app/clipboard@0.1.0"], ["sys:clipboard:write"]],
    [["weft:app/clipboard@0.1.0"], ["sys:clipboard:read", "sys:clipboard:write"]],
    [["weft:app/files@0.1.0"], ["fs:read:xdg-documents"]],
    [["weft:app/notify@0.1.0", "weft:app/ipc@0.1.0", "wasi:cli/environment@0.2.0"], []],
    [["wasi:filesystem/preopens@0.2.0"], ["fs:rw:app-data"]],
  ])("%p with %p is accepted, with no warnings", async (imports, capabilities) => {
    const report = await importing(imports, capabilities);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
  });

  test.each([
    ["weft:app/notifications@0.1.0", "sys:notifications"],
    ["weft:app/clipboard@0.1.0", '"sys:clipboard:read" or "sys:clipboard:write"'],
    ["weft:app/files@0.1.0", '"fs:rw:xdg-documents" or "fs:read:xdg-documents"'],
  ])("%p without a capability asks for %s", async (name, wanted) => {
    expect(errorFor(await importing([name], ["fs:rw:app-data"]), "package.capabilities")).toContain(wanted);
  });

  test("an unknown weft:app interface is an error listing the real ones", async () => {
    const message = errorFor(await importing(["weft:app/camera@0.1.0"]), "app.wasm");
    expect(message).toContain("weft:app/camera@0.1.0");
    expect(message).toContain("notify, ipc, fetch, notifications, clipboard, files");
  });

  test.each([
    ["weft:app/fetch@0.2.0", "at version 0.2.0"],
    ["weft:app/notify", "without a version"],
  ])("%p is an error: this WEFT provides weft:app@0.1.0", async (name, fragment) => {
    const message = errorFor(await importing([name], ["net:fetch:*"]), "app.wasm");
    expect(message).toContain(fragment);
    expect(message).toContain("weft:app@0.1.0");
  });

  test("imports outside wasi:* and weft:app/* are errors naming each", async () => {
    const report = await importing(["example:thing/api@1.0.0", "log", "wasi:cli/environment@0.2.0"]);
    const messages = report.errors.filter((e) => e.field === "app.wasm").map((e) => e.message);
    expect(messages).toHaveLength(2);
    expect(messages.some((m) => m.includes("imports example:thing/api@1.0.0, which the WEFT runtime does not provide"))).toBe(true);
    expect(messages.some((m) => m.includes('imports "log"'))).toBe(true);
  });

  test("a wasi import of another version than 0.2 is a warning", async () => {
    const report = await importing(["wasi:cli/environment@0.3.0"]);
    expect(report.errors).toEqual([]);
    expect(report.warnings[0]?.message).toContain("WASI 0.2");
  });

  test("a capability whose interface is not imported is a warning; preopens never are", async () => {
    const report = await importing(["weft:app/notify@0.1.0"], ["sys:notifications", "net:fetch:*", "fs:rw:app-data", "fs:read:xdg-documents"]);
    expect(report.errors).toEqual([]);
    const messages = report.warnings.map((w) => w.message);
    expect(messages).toHaveLength(3);
    expect(messages.some((m) => m.startsWith("sys:notifications is declared but the component does not import weft:app/notifications"))).toBe(true);
    expect(messages.some((m) => m.startsWith("net:fetch:* is declared"))).toBe(true);
    expect(messages.some((m) => m.startsWith("fs:read:xdg-documents is declared"))).toBe(true);
  });

  test("reserved capabilities are accepted with a warning", async () => {
    const report = await importing([], ["hw:gpu:compute"]);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([{ field: "package.capabilities", message: "hw:gpu:compute is reserved and grants nothing yet" }]);
  });

  test("an invalid capability elsewhere does not hide a missing one", async () => {
    const report = await importing(["weft:app/fetch@0.1.0"], ["net:fetch"]);
    expect(fields(report).sort()).toEqual(["package.capabilities", "package.capabilities[0]"]);
  });
});

describe("readManifest", () => {
  test("returns the manifest alone, without looking at the component", async () => {
    const report = await readManifest(await pkg({ component: await buildCoreModule() }));
    expect(report.errors).toEqual([]);
    expect(report.manifest?.package.name).toBe("Test App");
  });

  test("reports manifest errors and unknown keys in the same shape as checkPackage", async () => {
    const report = await readManifest(await pkg({ manifest: { package: { id: "x", homepage: "h" } } }));
    expect(report.manifest).toBeUndefined();
    expect(report.errors.map((e) => e.field)).toEqual(["package.id"]);
    expect(report.warnings.map((w) => w.field)).toEqual(["package.homepage"]);
  });

  test("a missing directory is a `package` error", async () => {
    expect((await readManifest(join(scratch, "absent"))).errors[0]?.field).toBe("package");
  });

  test("manifest text written as a string is used as is", async () => {
    const report = await readManifest(await pkg({ manifest: "[package\n" }));
    expect(report.errors[0]?.message).toContain("line 1");
    expect(testManifest({ ui: null }).ui).toBeUndefined();
  });
});
