import { describe, expect, test } from "bun:test";
import {
  contractPath,
  isSingleCompleteType,
  isValidSignature,
  loadContract,
  objectPathForName,
  parseContract,
  pickInterface,
} from "./parse.ts";
import { parseXml } from "./xml.ts";

const wrap = (body: string) => `<node><interface name="org.weft.X1">${body}</interface></node>`;

describe("parseContract", () => {
  test("reads the test contract: methods with in/out args, properties, signals, annotations", () => {
    const contract = loadContract(contractPath("org.weft.Test1"));
    const iface = pickInterface(contract);
    expect(iface.name).toBe("org.weft.Test1");
    const mix = iface.methods.find((m) => m.name === "Mix")!;
    expect(mix.inSignature).toBe("iasa{sv}");
    expect(mix.outSignature).toBe("xsas");
    expect(mix.inArgs.map((a) => a.name)).toEqual(["count", "names", "options"]);
    expect(iface.methods.find((m) => m.name === "Crash")!.inArgs).toEqual([]);
    expect(iface.properties.map((p) => [p.name, p.type, p.access])).toEqual([
      ["Version", "s", "read"],
      ["Counter", "i", "readwrite"],
      ["Secret", "s", "write"],
    ]);
    expect(iface.properties[2]!.annotations).toEqual([{ name: "org.freedesktop.DBus.Property.EmitsChangedSignal", value: "false" }]);
    expect(iface.signals).toEqual([{ name: "Pinged", args: [{ name: "text", type: "s", annotations: [] }], signature: "s", annotations: [] }]);
  });

  test("inline XML is parsed as XML, not read as a path", () => {
    expect(loadContract(wrap(`<method name="A"/>`)).interfaces[0]!.methods[0]!.name).toBe("A");
  });

  test.each([
    [wrap(`<method name="A"><arg type="a" direction="in"/></method>`), /not a single complete D-Bus type/],
    [wrap(`<method name="A"><arg type="ss"/></method>`), /not a single complete D-Bus type/],
    [wrap(`<method name="A"><arg type="s" direction="inout"/></method>`), /direction must be/],
    [wrap(`<method name="A"/><method name="A"/>`), /described twice/],
    [wrap(`<method name="1A"/>`), /not a valid member name/],
    [wrap(`<property name="P" type="s"/>`), /needs a access attribute/],
    [wrap(`<property name="P" type="s" access="rw"/>`), /access must be/],
    [wrap(`<methd name="A"/>`), /unexpected <methd>/],
    [wrap(`<method name="A" color="red"/>`), /unexpected attribute color/],
    [wrap(`<signal name="S"><arg type="s" direction="in"/></signal>`), /signal arguments/],
    [`<node><interface name="nodots"/></node>`, /not a valid interface name/],
    [`<node><node name="child"/></node>`, /not child nodes/],
    [`<interface name="org.weft.X1"/>`, /root element must be <node>/],
    [`<node><interface name="org.weft.X1"></node>`, /closes <interface>/],
    [`<node><interface name="a&b.c"/></node>`, /bare '&'/],
  ])("rejects %s", (xml, error) => {
    expect(() => parseContract(xml, "test.xml")).toThrow(error);
  });

  test("errors name the source and line", () => {
    expect(() => parseContract(`<node>\n<interface name="org.weft.X1">\n<method name="1"/>\n</interface></node>`, "x.xml")).toThrow(
      "x.xml:3:",
    );
  });

  test("introspection replies may have child nodes; contracts may not", () => {
    const xml = `<node><node name="sessions"/><interface name="org.weft.X1"/></node>`;
    expect(parseContract(xml, "reply", { allowChildNodes: true }).childNodes).toEqual(["sessions"]);
  });

  test("pickInterface needs a name when there are several", () => {
    const contract = parseContract(`<node><interface name="a.B"/><interface name="a.C"/></node>`);
    expect(() => pickInterface(contract)).toThrow(/2 interfaces/);
    expect(pickInterface(contract, "a.C").name).toBe("a.C");
    expect(() => pickInterface(contract, "a.D")).toThrow(/no interface a.D/);
  });
});

describe("signatures", () => {
  test.each(["s", "a{sv}", "(iasa{sv})", "aay", "a(oa{sv})", "h", "v"])("%s is one complete type", (type) => {
    expect(isSingleCompleteType(type)).toBe(true);
  });
  test.each(["", "a", "ss", "a{vs}", "()", "(s", "{ss}", "z", "a{s}", "a".repeat(33) + "s"])("%s is not", (type) => {
    expect(isSingleCompleteType(type)).toBe(false);
  });
  test("isValidSignature takes sequences", () => {
    expect(isValidSignature("")).toBe(true);
    expect(isValidSignature("sa{sv}h")).toBe(true);
    expect(isValidSignature("sa{")).toBe(false);
  });
});

describe("objectPathForName", () => {
  test("maps a bus name to its object path, never /", () => {
    expect(objectPathForName("org.weft.AppD1")).toBe("/org/weft/AppD1");
    expect(objectPathForName("org.weft.file-portal1")).toBe("/org/weft/file_portal1");
    expect(() => objectPathForName(":1.5")).toThrow();
    expect(() => objectPathForName("single")).toThrow();
  });
});

describe("parseXml", () => {
  test("skips declaration, doctype and comments; decodes entities", () => {
    const root = parseXml(`<?xml version="1.0"?>\n<!DOCTYPE node PUBLIC "a" "b">\n<!-- c --><node a="&lt;&#65;&amp;"><x/><!-- d --></node>`);
    expect(root.attributes.a).toBe("<A&");
    expect(root.children.map((c) => c.name)).toEqual(["x"]);
  });
  test("rejects content after the root and unknown entities", () => {
    expect(() => parseXml(`<a/><b/>`)).toThrow(/after the root/);
    expect(() => parseXml(`<a b="&nope;"/>`)).toThrow(/unknown entity/);
  });
});
