import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constantName, documentedErrors, generateAll, generateModule, tsType } from "./generate.ts";
import * as contracts from "./index.ts";

describe("the generated contract modules", () => {
  test("each one is what the generator makes of its XML today (run protocol/dbus/generate.ts after editing an XML)", () => {
    for (const module of generateAll()) {
      expect({ file: module.file, text: readFileSync(join(import.meta.dir, module.file), "utf8") }).toEqual({ file: module.file, text: module.text });
    }
  });

  test("each module carries its XML's interface as data, with the errors its header documents", () => {
    expect(contracts.AppD1.name).toBe("org.weft.AppD1");
    expect(contracts.AppD1.description.methods.map((m) => m.name)).toEqual(["Launch", "Terminate", "ListSessions", "ListInstalledApps"]);
    expect(contracts.AppD1.errors).toContain("NotInstalled");
    expect(contracts.errorName(contracts.AppD1, "NotInstalled")).toBe("org.weft.AppD1.Error.NotInstalled");
    // TestInput's errors live in Compositor1's domain, as its header says.
    expect(contracts.errorName(contracts.Compositor1TestInput, "InvalidArgs")).toBe("org.weft.Compositor1.Error.InvalidArgs");
    expect(contracts.AppD1Session.errors).toEqual([]);
  });
});

describe("D-Bus types as TypeScript", () => {
  test.each([
    ["s", "string"],
    ["o", "string"],
    ["t", "bigint"],
    ["x", "bigint"],
    ["u", "number"],
    ["h", "number"],
    ["d", "number"],
    ["b", "boolean"],
    ["v", "Variant"],
    ["ay", "Uint8Array"],
    ["as", "string[]"],
    ["a{sv}", "Record<string, Variant>"],
    ["a(sst)", "Array<[string, string, bigint]>"],
    ["(stt)", "[string, bigint, bigint]"],
    ["aas", "Array<string[]>"],
  ])("%s → %s", (signature, type) => {
    expect(tsType(signature)).toBe(type);
  });

  test.each(["", "ss", "a", "(s", "a{s", "z", "a{sv"])("%j is refused", (signature) => {
    expect(() => tsType(signature)).toThrow();
  });

  test("constant names drop the vendor prefix and the dots", () => {
    expect(constantName("org.weft.Compositor1.TestInput")).toBe("Compositor1TestInput");
    expect(constantName("org.freedesktop.Notifications")).toBe("Notifications");
  });
});

describe("errors documented in a contract's header", () => {
  const xml = (header: string) => `<!DOCTYPE node>\n<!--\n${header}\n-->\n<node>\n  <interface name="org.weft.X1"/>\n</node>\n`;

  test("a list is read with its domain; a description may continue on further-indented lines", () => {
    const header = "  Errors, org.weft.X1.Error.<name>:\n    AccessDenied  not for you\n    TooLarge      more than\n                  the limit\n\n  Other prose.";
    expect(documentedErrors(xml(header), "x.xml")).toEqual({ domain: "org.weft.X1", names: ["AccessDenied", "TooLarge"] });
  });

  test("`Errors: none` is an empty list", () => {
    expect(documentedErrors(xml("  Errors: none (properties only)."), "x.xml")).toEqual({ domain: undefined, names: [] });
  });

  test.each([
    ["no errors section", "  Just prose."],
    ["an empty list", "  Errors, org.weft.X1.Error.<name>:\n  Prose right after."],
    ["a name twice", "  Errors, org.weft.X1.Error.<name>:\n    Failed  a\n    Failed  b"],
  ])("%s is refused, naming the file", (_what, header) => {
    expect(() => documentedErrors(xml(header), "x.xml")).toThrow(/^x\.xml: /);
  });

  test("a contract whose XML is malformed is refused with its file and line", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-protocol-"));
    try {
      writeFileSync(join(dir, "org.weft.Bad1.xml"), '<node>\n  <interface name="org.weft.Bad1">\n    <method name="X"><arg type="zz"/></method>\n  </interface>\n</node>\n');
      expect(() => generateModule(join(dir, "org.weft.Bad1.xml"))).toThrow(/org\.weft\.Bad1\.xml:3: .*"zz" is not a single complete D-Bus type/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
