/**
 * Reads the D-Bus introspection format, strictly: the contract files beside this one (`generate.ts` turns each
 * into a typed module) and what `busctl introspect` shows (tests compare the two).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Annotation, ContractArg, ContractInterface, PropertyAccess } from "./contract.ts";
import { parseXml, type XmlElement } from "./xml.ts";

export type { Annotation, ContractArg, ContractInterface, ContractMethod, ContractProperty, ContractSignal, PropertyAccess } from "./contract.ts";

export interface Contract {
  /** File path or `<inline>`, for error messages. */
  source: string;
  interfaces: ContractInterface[];
  /** Names of child `<node>`s (only in introspection data, never in contract files). */
  childNodes: string[];
}

/** `protocol/dbus/<interfaceName>.xml` in this repository. */
export function contractPath(interfaceName: string): string {
  return join(import.meta.dir, `${interfaceName}.xml`);
}

/** Loads a contract from a file path, or parses it when the string is XML text (starts with `<`). */
export function loadContract(pathOrXml: string): Contract {
  if (pathOrXml.trimStart().startsWith("<")) return parseContract(pathOrXml, "<inline>");
  return parseContract(readFileSync(pathOrXml, "utf8"), pathOrXml);
}

/** Finds an interface by name, or the only one when no name is given; throws a clear error otherwise. */
export function pickInterface(contract: Contract, interfaceName?: string): ContractInterface {
  if (interfaceName === undefined) {
    if (contract.interfaces.length !== 1) {
      throw new Error(
        `${contract.source} describes ${contract.interfaces.length} interfaces (${contract.interfaces.map((i) => i.name).join(", ")}): say which one`,
      );
    }
    return contract.interfaces[0]!;
  }
  const found = contract.interfaces.find((i) => i.name === interfaceName);
  if (found === undefined) throw new Error(`${contract.source} has no interface ${interfaceName}`);
  return found;
}

/**
 * Parses introspection XML strictly: unknown elements or attributes, invalid names or signatures,
 * duplicate members are errors. `allowChildNodes` accepts `<node name="…"/>` children, as introspection
 * replies have; contract files must not.
 */
export function parseContract(xml: string, source = "<inline>", options: { allowChildNodes?: boolean } = {}): Contract {
  const root = parseXml(xml, source);
  const fail = (element: XmlElement, message: string): never => {
    throw new Error(`${source}:${element.line}: ${message}`);
  };
  const checkAttributes = (element: XmlElement, allowed: string[], required: string[]) => {
    for (const name of Object.keys(element.attributes)) {
      if (!allowed.includes(name) && !name.startsWith("xmlns")) fail(element, `unexpected attribute ${name} on <${element.name}>`);
    }
    for (const name of required) if (element.attributes[name] === undefined) fail(element, `<${element.name}> needs a ${name} attribute`);
    if (element.text !== "") fail(element, `unexpected text inside <${element.name}>`);
  };
  const annotationsOf = (element: XmlElement, allowedChildren: string[]): Annotation[] => {
    const annotations: Annotation[] = [];
    for (const child of element.children) {
      if (child.name === "annotation") {
        checkAttributes(child, ["name", "value"], ["name", "value"]);
        if (child.children.length > 0) fail(child, "<annotation> has no children");
        annotations.push({ name: child.attributes.name!, value: child.attributes.value! });
      } else if (!allowedChildren.includes(child.name)) {
        fail(child, `unexpected <${child.name}> inside <${element.name}>`);
      }
    }
    return annotations;
  };
  const argOf = (element: XmlElement, context: string): ContractArg => {
    checkAttributes(element, ["name", "type", "direction"], ["type"]);
    const type = element.attributes.type!;
    if (!isSingleCompleteType(type)) fail(element, `${context}: "${type}" is not a single complete D-Bus type`);
    const name = element.attributes.name;
    return { ...(name === undefined ? {} : { name }), type, annotations: annotationsOf(element, []) };
  };

  if (root.name !== "node") fail(root, `the root element must be <node>, not <${root.name}>`);
  checkAttributes(root, ["name"], []);
  const interfaces: ContractInterface[] = [];
  const childNodes: string[] = [];
  for (const element of root.children) {
    if (element.name === "node") {
      if (!options.allowChildNodes) fail(element, "a contract describes interfaces, not child nodes");
      childNodes.push(element.attributes.name ?? "");
      continue;
    }
    if (element.name !== "interface") fail(element, `unexpected <${element.name}> inside <node>`);
    checkAttributes(element, ["name"], ["name"]);
    const interfaceName = element.attributes.name!;
    if (!isValidInterfaceName(interfaceName)) fail(element, `"${interfaceName}" is not a valid interface name`);
    if (interfaces.some((i) => i.name === interfaceName)) fail(element, `interface ${interfaceName} is described twice`);
    const iface: ContractInterface = {
      name: interfaceName,
      methods: [],
      properties: [],
      signals: [],
      annotations: annotationsOf(element, ["method", "property", "signal"]),
    };
    const memberNames = new Set<string>();
    for (const member of element.children) {
      if (member.name === "annotation") continue;
      const name = member.attributes.name;
      if (name === undefined) fail(member, `<${member.name}> needs a name attribute`);
      if (!isValidMemberName(name!)) fail(member, `"${name}" is not a valid member name`);
      if (memberNames.has(`${member.name}:${name}`)) fail(member, `${member.name} ${interfaceName}.${name} is described twice`);
      memberNames.add(`${member.name}:${name}`);
      const context = `${interfaceName}.${name}`;
      if (member.name === "method") {
        checkAttributes(member, ["name"], ["name"]);
        const inArgs: ContractArg[] = [];
        const outArgs: ContractArg[] = [];
        for (const child of member.children) {
          if (child.name !== "arg") continue;
          const direction = child.attributes.direction ?? "in";
          if (direction !== "in" && direction !== "out") fail(child, `${context}: direction must be "in" or "out"`);
          (direction === "in" ? inArgs : outArgs).push(argOf(child, context));
        }
        iface.methods.push({
          name: name!,
          inArgs,
          outArgs,
          inSignature: inArgs.map((a) => a.type).join(""),
          outSignature: outArgs.map((a) => a.type).join(""),
          annotations: annotationsOf(member, ["arg"]),
        });
      } else if (member.name === "signal") {
        checkAttributes(member, ["name"], ["name"]);
        const args: ContractArg[] = [];
        for (const child of member.children) {
          if (child.name !== "arg") continue;
          if ((child.attributes.direction ?? "out") !== "out") fail(child, `${context}: signal arguments have no direction but "out"`);
          args.push(argOf(child, context));
        }
        iface.signals.push({ name: name!, args, signature: args.map((a) => a.type).join(""), annotations: annotationsOf(member, ["arg"]) });
      } else if (member.name === "property") {
        checkAttributes(member, ["name", "type", "access"], ["name", "type", "access"]);
        const type = member.attributes.type!;
        const access = member.attributes.access!;
        if (!isSingleCompleteType(type)) fail(member, `${context}: "${type}" is not a single complete D-Bus type`);
        if (access !== "read" && access !== "write" && access !== "readwrite") {
          fail(member, `${context}: access must be read, write or readwrite`);
        }
        iface.properties.push({ name: name!, type, access: access as PropertyAccess, annotations: annotationsOf(member, []) });
      }
    }
    interfaces.push(iface);
  }
  return { source, interfaces, childNodes };
}

const ELEMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BUS_ELEMENT = /^[A-Za-z_-][A-Za-z0-9_-]*$/;

export function isValidInterfaceName(name: string): boolean {
  const parts = name.split(".");
  return name.length <= 255 && parts.length >= 2 && parts.every((p) => ELEMENT.test(p));
}

export function isValidMemberName(name: string): boolean {
  return name.length <= 255 && ELEMENT.test(name);
}

/** Well-known (not unique) bus names: `org.weft.AppD1`. */
export function isValidWellKnownBusName(name: string): boolean {
  const parts = name.split(".");
  return name.length <= 255 && parts.length >= 2 && parts.every((p) => BUS_ELEMENT.test(p) && !/^[0-9]/.test(p));
}

export function isValidObjectPath(path: string): boolean {
  return path === "/" || /^(\/[A-Za-z0-9_]+)+$/.test(path);
}

/** The object path a service with this bus name exports its main object at: `org.weft.AppD1` → `/org/weft/AppD1`. */
export function objectPathForName(busName: string): string {
  if (!isValidWellKnownBusName(busName)) throw new Error(`"${busName}" is not a valid well-known bus name`);
  return "/" + busName.replace(/-/g, "_").split(".").join("/");
}

const BASIC_TYPES = "ybnqiuxtdhsog";
const MAX_SIGNATURE_LENGTH = 255;
const MAX_NESTING = 32;

/** True when `signature` is a valid sequence of complete types (an empty one is valid). */
export function isValidSignature(signature: string): boolean {
  if (signature.length > MAX_SIGNATURE_LENGTH) return false;
  let pos = 0;
  while (pos < signature.length) {
    const end = completeTypeEnd(signature, pos, 0, 0);
    if (end < 0) return false;
    pos = end;
  }
  return true;
}

/** True when `type` is exactly one complete type (what an `<arg type>` or `<property type>` holds). */
export function isSingleCompleteType(type: string): boolean {
  return type.length > 0 && type.length <= MAX_SIGNATURE_LENGTH && completeTypeEnd(type, 0, 0, 0) === type.length;
}

/** Index just past the complete type starting at `pos`, or -1. */
function completeTypeEnd(sig: string, pos: number, arrayDepth: number, structDepth: number): number {
  const c = sig[pos];
  if (c === undefined) return -1;
  if (BASIC_TYPES.includes(c) || c === "v") return pos + 1;
  if (c === "a") {
    if (arrayDepth + 1 > MAX_NESTING) return -1;
    if (sig[pos + 1] === "{") {
      const key = sig[pos + 2];
      if (key === undefined || !BASIC_TYPES.includes(key)) return -1;
      const valueEnd = completeTypeEnd(sig, pos + 3, arrayDepth + 1, structDepth + 1);
      return valueEnd >= 0 && sig[valueEnd] === "}" ? valueEnd + 1 : -1;
    }
    return completeTypeEnd(sig, pos + 1, arrayDepth + 1, structDepth);
  }
  if (c === "(") {
    if (structDepth + 1 > MAX_NESTING) return -1;
    let at = pos + 1;
    if (sig[at] === ")") return -1;
    while (sig[at] !== ")") {
      at = completeTypeEnd(sig, at, arrayDepth, structDepth + 1);
      if (at < 0) return -1;
    }
    return at + 1;
  }
  return -1;
}
