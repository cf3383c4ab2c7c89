import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  allowsCall,
  CAPABILITY_TABLE,
  type Capability,
  capabilitiesCovering,
  describeCapability,
  fetchAllowed,
  parseCapability,
  requireCapability,
  WEFT_APP_INTERFACES,
  weftInterface,
} from "./capabilities.ts";

const repo = join(import.meta.dir, "../../..");

function parsed(text: string): Capability {
  const result = parseCapability(text);
  if (!result.ok) throw new Error(`expected ${text} to parse: ${result.message}`);
  return result.capability;
}

function problem(text: string): string {
  const result = parseCapability(text);
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
  return result.message;
}

describe("parseCapability", () => {
  const fixed = CAPABILITY_TABLE.map((d) => d.pattern).filter((p) => p !== "net:fetch:<host>");

  test.each(fixed)("accepts %p as its own table row", (name) => {
    const capability = parsed(name);
    expect(capability.name).toBe(name);
    expect(capability.definition.pattern).toBe(name);
    expect(capability.host).toBeUndefined();
  });

  test("the placeholder itself is not a capability", () => {
    expect(problem("net:fetch:<host>")).toContain("net:fetch:<host>");
  });

  test.each(["net:fetch", "net:fetch:"])("rejects bare %p, saying what to write", (text) => {
    const message = problem(text);
    expect(message).toContain("net:fetch:<host>");
    expect(message).toContain("net:fetch:*");
  });

  test.each([
    ["net:fetch:api.example.com", { domain: "api.example.com", subdomains: false }],
    ["net:fetch:localhost", { domain: "localhost", subdomains: false }],
    ["net:fetch:*.example.com", { domain: "example.com", subdomains: true }],
    ["net:fetch:example.com:8443", { domain: "example.com", subdomains: false, port: 8443 }],
    ["net:fetch:*.example.com:1", { domain: "example.com", subdomains: true, port: 1 }],
    ["net:fetch:xn--bcher-kva.example", { domain: "xn--bcher-kva.example", subdomains: false }],
    ["net:fetch:a-b.c1.example9", { domain: "a-b.c1.example9", subdomains: false }],
    ["net:fetch:9gag.com", { domain: "9gag.com", subdomains: false }],
  ])("accepts the host in %p", (text, host) => {
    const capability = parsed(text);
    expect(capability.definition.pattern).toBe("net:fetch:<host>");
    expect(capability.host).toEqual(host);
  });

  test.each([
    ["net:fetch:Example.com", "net:fetch:example.com"],
    ["net:fetch:https://example.com", "without scheme"],
    ["net:fetch:example.com/path", "without scheme or path"],
    ["net:fetch:user@example.com", "user information"],
    ["net:fetch:10.0.0.1", "IP address"],
    ["net:fetch:127.1", "IP address"],
    ["net:fetch:0x7f.1", "IP address"],
    ["net:fetch:[::1]", "IP address"],
    ["net:fetch:[::1]:80", "IP address"],
    ["net:fetch:::1", "IP address"],
    ["net:fetch:example.com:0", "1 to 65535"],
    ["net:fetch:example.com:65536", "1 to 65535"],
    ["net:fetch:example.com:080", "1 to 65535"],
    ["net:fetch:example.com:", "1 to 65535"],
    ["net:fetch:example.com:http", "1 to 65535"],
    ["net:fetch:a:b:80", "more than one"],
    ["net:fetch:*:8080", "net:fetch:*"],
    ["net:fetch:*.com", "top-level"],
    ["net:fetch:*.", "no host name"],
    ["net:fetch:exa*mple.com", "whole first label"],
    ["net:fetch:foo.*.com", "whole first label"],
    ["net:fetch:**.example.com", "whole first label"],
    ["net:fetch:-a.example.com", '"-a"'],
    ["net:fetch:a-.example.com", '"a-"'],
    ["net:fetch:a..example.com", '""'],
    ["net:fetch:.example.com", '""'],
    ["net:fetch:example.com.", "trailing"],
    ["net:fetch:under_score.com", "under_score"],
    [`net:fetch:${"a".repeat(64)}.com`, "1 to 63"],
    [`net:fetch:${"abcdefghi.".repeat(26)}com`, "253"],
    ["net:fetch:bücher.example", "xn--"],
    ["net:fetch:exa mple.com", "whitespace"],
    [" net:fetch:*", "whitespace"],
    ["net:fetch:*\n", "whitespace"],
  ])("rejects %p, saying why", (text, fragment) => {
    expect(problem(text)).toContain(fragment);
  });

  test.each([
    ["", "is empty"],
    ["fs:write:app-data", "not a known capability"],
    ["net:http:example.com", "not a known capability"],
    ["FS:RW:APP-DATA", "write fs:rw:app-data"],
    ["Sys:Notifications", "write sys:notifications"],
    ["hw:gpu", "not a known capability"],
    ["x".repeat(400), "longer than"],
  ])("rejects %p", (text, fragment) => {
    expect(problem(text)).toContain(fragment);
  });

  test("an unknown capability's message lists the known ones", () => {
    const message = problem("sys:camera");
    for (const name of ["fs:rw:app-data", "sys:notifications", "net:fetch:<host>", "net:fetch:*"]) expect(message).toContain(name);
  });

  test("requireCapability throws for text that does not parse", () => {
    expect(requireCapability("sys:notifications").name).toBe("sys:notifications");
    expect(() => requireCapability("net:fetch")).toThrow("names no host");
  });
});

describe("describeCapability", () => {
  test.each([
    ["net:fetch:api.example.com", "Connect to api.example.com"],
    ["net:fetch:*.example.com", "Connect to any subdomain of example.com"],
    ["net:fetch:example.com:8443", "Connect to example.com on port 8443"],
    ["net:fetch:*", "Connect to any server on the internet"],
    ["sys:notifications", "Show desktop notifications"],
  ])("%p → %p", (text, meaning) => {
    expect(describeCapability(parsed(text))).toBe(meaning);
    expect(describeCapability(text)).toBe(meaning);
  });

  test("reserved capabilities say they do nothing yet", () => {
    expect(describeCapability("hw:gpu:compute")).toContain("no effect yet");
  });

  test("text that does not parse is described as unknown, not as something it is not", () => {
    expect(describeCapability("net:fetch")).toBe('Unknown capability "net:fetch"');
  });
});

describe("interfaces and coverage", () => {
  test("capabilitiesCovering lists the rows that open an interface, with or without a version", () => {
    const fetch = capabilitiesCovering("weft:app/fetch@0.1.0").map((d) => d.pattern);
    expect(fetch).toEqual(["net:fetch:<host>", "net:fetch:*"]);
    expect(capabilitiesCovering("weft:app/fetch").map((d) => d.pattern)).toEqual(fetch);
    expect(capabilitiesCovering("weft:app/clipboard").map((d) => d.pattern)).toEqual(["sys:clipboard:read", "sys:clipboard:write"]);
    expect(capabilitiesCovering("weft:app/files").map((d) => d.pattern)).toEqual(["fs:rw:xdg-documents", "fs:read:xdg-documents"]);
    expect(capabilitiesCovering("weft:app/notify")).toEqual([]);
    expect(capabilitiesCovering("wasi:cli/run@0.2.0")).toEqual([]);
  });

  test("every gated interface is covered by some capability, and no ungated one is", () => {
    for (const info of Object.values(WEFT_APP_INTERFACES)) {
      expect(capabilitiesCovering(info.name).length > 0).toBe(info.gated);
    }
  });

  test("coverage names only interfaces and functions that exist", () => {
    for (const definition of CAPABILITY_TABLE) {
      for (const coverage of definition.covers) {
        const info = WEFT_APP_INTERFACES[coverage.interface];
        if (coverage.functions !== "all") for (const fn of coverage.functions) expect(info.functions).toContain(fn);
      }
    }
  });

  test("weftInterface knows exactly the weft:app interfaces", () => {
    expect(weftInterface("weft:app/ipc@0.1.0")?.gated).toBe(false);
    expect(weftInterface("weft:app/fetch")?.gated).toBe(true);
    expect(weftInterface("weft:app/bogus@0.1.0")).toBeUndefined();
    expect(weftInterface("weft:app/toString")).toBeUndefined();
    expect(weftInterface("constructor")).toBeUndefined();
  });

  test("allowsCall follows function-level coverage", () => {
    const readClipboard = [parsed("sys:clipboard:read")];
    expect(allowsCall(readClipboard, "weft:app/clipboard@0.1.0", "read")).toBe(true);
    expect(allowsCall(readClipboard, "weft:app/clipboard@0.1.0", "write")).toBe(false);

    const readDocuments = [parsed("fs:read:xdg-documents")];
    for (const fn of ["read", "list-dir", "stat"]) expect(allowsCall(readDocuments, "weft:app/files", fn)).toBe(true);
    for (const fn of ["write", "remove", "mkdir"]) expect(allowsCall(readDocuments, "weft:app/files", fn)).toBe(false);
    expect(allowsCall([parsed("fs:rw:xdg-documents")], "weft:app/files", "remove")).toBe(true);

    expect(allowsCall([], "weft:app/notify", "ready")).toBe(true);
    expect(allowsCall([], "weft:app/ipc", "recv")).toBe(true);
    expect(allowsCall([], "weft:app/fetch", "fetch")).toBe(false);
    expect(allowsCall([parsed("net:fetch:example.com")], "weft:app/fetch", "fetch")).toBe(true);
    expect(allowsCall([parsed("fs:rw:app-data")], "weft:app/files", "read")).toBe(false);
    expect(allowsCall([parsed("net:fetch:*")], "weft:app/fetch", "nonexistent")).toBe(false);
    expect(allowsCall([parsed("net:fetch:*")], "weft:app/bogus", "fetch")).toBe(false);
  });
});

describe("fetchAllowed", () => {
  const caps = (...names: string[]) => names.map(parsed);

  test.each([
    [["net:fetch:api.example.com"], "https://api.example.com/v1", true],
    [["net:fetch:api.example.com"], "http://api.example.com/", true],
    [["net:fetch:api.example.com"], "https://API.Example.COM/", true],
    [["net:fetch:api.example.com"], "https://api.example.com:443/", true],
    [["net:fetch:api.example.com"], "https://api.example.com:8443/", false],
    [["net:fetch:api.example.com"], "https://example.com/", false],
    [["net:fetch:api.example.com"], "https://x.api.example.com/", false],
    [["net:fetch:api.example.com"], "https://api.example.com.evil.net/", false],
    [["net:fetch:api.example.com"], "https://api.example.com@evil.net/", false],
    [["net:fetch:api.example.com"], "ftp://api.example.com/", false],
    [["net:fetch:api.example.com"], "file:///etc/passwd", false],
    [["net:fetch:api.example.com"], "not a url", false],
    [["net:fetch:example.com:8443"], "https://example.com:8443/", true],
    [["net:fetch:example.com:8443"], "https://example.com/", false],
    [["net:fetch:*.example.com"], "https://a.example.com/", true],
    [["net:fetch:*.example.com"], "https://a.b.example.com/", true],
    [["net:fetch:*.example.com"], "https://example.com/", false],
    [["net:fetch:*.example.com"], "https://badexample.com/", false],
    [["net:fetch:xn--bcher-kva.example"], "https://bücher.example/", true],
    [["net:fetch:localhost"], "http://127.0.0.1/", false],
    [["net:fetch:*"], "http://127.0.0.1:9/", true],
    [["net:fetch:*"], "https://[::1]/", true],
    [["sys:notifications"], "https://example.com/", false],
    [[], "https://example.com/", false],
  ])("%p allows %p: %p", (names, url, allowed) => {
    expect(fetchAllowed(caps(...names), url)).toBe(allowed);
  });
});

describe("the table and its documents agree", () => {
  test("docs/packages.md lists every capability with its meaning", async () => {
    const docs = await Bun.file(join(repo, "docs/packages.md")).text();
    for (const definition of CAPABILITY_TABLE) {
      expect(docs).toContain(`| \`${definition.pattern}\` |`);
      expect(docs).toContain(definition.meaning.replace(" (reserved: has no effect yet)", "").replace("<host>", "`<host>`"));
    }
  });

  test("protocol/wit/weft-app.wit defines exactly the interfaces and functions of WEFT_APP_INTERFACES", async () => {
    const wit = await Bun.file(join(repo, "protocol/wit/weft-app.wit")).text();
    expect(wit).toMatch(/^package weft:app@0\.1\.0;$/m);
    const found: Record<string, string[]> = {};
    for (const block of wit.matchAll(/^interface ([a-z-]+) \{([\s\S]*?)^\}/gm)) {
      const functions = [...(block[2] ?? "").matchAll(/^\s*([a-z][a-z0-9-]*): func\(/gm)].map((m) => m[1] ?? "");
      found[`weft:app/${block[1]}`] = functions;
    }
    const expected = Object.fromEntries(Object.values(WEFT_APP_INTERFACES).map((i) => [i.name, [...i.functions]]));
    for (const list of [...Object.values(found), ...Object.values(expected)]) list.sort();
    expect(found).toEqual(expected);
  });
});
