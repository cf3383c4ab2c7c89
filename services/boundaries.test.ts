/**
 * The corridors between WEFT's processes, checked on the tree itself:
 *   * a service's code imports only `services/common/` and `protocol/` from outside its own folder, and never the
 *     test worlds (`testing/`) or the benchmarks (`bench/`);
 *   * no code outside `protocol/` spells a WEFT bus name: the names live in protocol/dbus/names.ts and the
 *     contract modules, so a rename is one edit and a typo a compile error.
 * Tests and the fixture programs they spawn are left out of the first rule (they may drive other services), not
 * of the second: they name services and errors through protocol/ too (`AppD.busName`,
 * `errorName(AppD1, "NotInstalled")`), so a typo is a compile error.
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");


/** The well-known names of WEFT's services, as a string in code would spell them. */
const BUS_NAME = /["'`](org\.weft\.(AppD1|Compositor1|FilePortal1|Shell1|Runtime1|AppShell1)|org\.freedesktop\.Notifications)\b/;

function sourceFiles(folder: string): string[] {
  return [...new Bun.Glob("**/*.ts").scanSync({ cwd: join(REPO, folder) })]
    .filter((file) => !file.split("/").includes("node_modules") && !file.includes("/fixtures/"))
    .map((file) => join(folder, file));
}

/** Tests, and the programs tests spawn (`*-fixture.ts`). */
const isTest = (file: string) => file.endsWith(".test.ts") || file.endsWith("-fixture.ts");
const serviceOf = (file: string) => (file.startsWith("services/") ? file.split("/")[1] : undefined);

/** Code without comments, line by line (a line's number stays its number). */
function codeLines(text: string): string[] {
  const withoutBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ""));
  return withoutBlocks.split("\n").map((line) => line.replace(/(^|\s)\/\/.*$/, ""));
}

/** Every import of a service's non-test code that reaches another service, the test worlds or the benchmarks. */
function crossings(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles("services").filter((f) => !isTest(f))) {
    const from = serviceOf(file)!;
    for (const [, specifier] of readFileSync(join(REPO, file), "utf8").matchAll(/\b(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
      const target = relative(REPO, resolve(REPO, dirname(file), specifier!));
      const to = serviceOf(target);
      const outside = target.startsWith("testing/") || target.startsWith("bench/");
      if (outside || (to !== undefined && to !== from && to !== "common")) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

describe("corridors", () => {
  test("a service imports only common/ and protocol/ from outside its folder, never testing/ or bench/", () => {
    expect(crossings()).toEqual([]);
  });

  test("no code outside protocol/ spells a WEFT bus name", () => {
    const spelled: string[] = [];
    for (const folder of ["services", "testing", "vm", "bench", "scripts", "apps"]) {
      for (const file of sourceFiles(folder)) {
        codeLines(readFileSync(join(REPO, file), "utf8")).forEach((line, i) => {
          if (BUS_NAME.test(line)) spelled.push(`${file}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(spelled).toEqual([]);
  });
});
