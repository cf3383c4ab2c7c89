import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { inspectComponent } from "../services/common/package/component.ts";
import { parseManifest } from "../services/common/package/manifest.ts";
import { buildComponent, makeTempDir, testManifest, WEFT_APP_WIT_PATH, writeTestPackage } from "./components.ts";

let scratch: string;
beforeAll(async () => {
  scratch = await makeTempDir("weft-fixtures-");
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("buildComponent", () => {
  test("caches per process but hands out copies", async () => {
    const first = await buildComponent({ imports: ["weft:app/clipboard@0.1.0"] });
    first.fill(0);
    const second = await buildComponent({ imports: ["weft:app/clipboard@0.1.0"] });
    expect((await inspectComponent(second)).imports).toEqual(["weft:app/clipboard@0.1.0"]);
  });

  test("refuses names it cannot turn into WIT", async () => {
    await expect(buildComponent({ imports: ["Not A Name"] })).rejects.toThrow("cannot generate WIT");
  });
});

describe("protocol/wit/weft-app.wit", () => {
  test("compiles on its own; world app imports exactly the ungated interfaces", async () => {
    const witSource = await Bun.file(WEFT_APP_WIT_PATH).text();
    const component = await componentNew(await componentEmbed({ dummy: true, witSource, world: "weft:app/app@0.1.0" }));
    const info = await inspectComponent(component);
    expect([...info.imports].sort()).toEqual(["weft:app/ipc@0.1.0", "weft:app/notify@0.1.0"]);
    expect(info.exports).toEqual([]);
  });
});

describe("writeTestPackage", () => {
  test("lays out wapp.toml, app.wasm and ui/index.html, and extra files", async () => {
    const dir = await writeTestPackage(join(scratch, "a"), { files: { "assets/logo.svg": "<svg/>" } });
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(["app.wasm", "assets", "assets/logo.svg", "ui", "ui/index.html", "wapp.toml"]);
    const report = parseManifest(await Bun.file(join(dir, "wapp.toml")).text());
    expect(report.errors).toEqual([]);
  });

  test("puts the component and page where the manifest says", async () => {
    const dir = await writeTestPackage(join(scratch, "b"), { manifest: { runtime: { module: "bin/x.wasm" }, ui: { entry: "web/main.html" } } });
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(["bin", "bin/x.wasm", "wapp.toml", "web", "web/main.html"]);
  });

  test("refuses to write outside the package", async () => {
    await expect(writeTestPackage(join(scratch, "c"), { files: { "../escape.txt": "x" } })).rejects.toThrow("outside the package");
  });

  test("testManifest removes keys and tables set to null", () => {
    const manifest = testManifest({ package: { name: null }, ui: null });
    expect(manifest.ui).toBeUndefined();
    expect(manifest.package).not.toHaveProperty("name");
    expect(manifest.package).toHaveProperty("id", "org.weft.test.app");
  });
});
