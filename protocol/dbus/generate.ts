/**
 * Makes the typed module of each D-Bus contract in this folder: `<interface>.xml` → `<interface>.ts` (see
 * contract.ts for what a module holds), and `index.ts`, which exports them all.
 *
 *   node_modules/.bin/bun protocol/dbus/generate.ts           write the modules
 *   node_modules/.bin/bun protocol/dbus/generate.ts --check   exit 1 naming each module that is out of date
 *
 * Errors come from the XML's header comment, which documents them in this form (one line per error, its
 * description may continue on lines indented further; `Errors: none` for an interface with no errors):
 *
 *     Errors, org.weft.AppD1.Error.<name>:
 *       NotInstalled  no store root holds the app
 */

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { ContractArg, ContractInterface } from "./contract.ts";
import { parseContract, pickInterface } from "./parse.ts";

const DIR = import.meta.dir;

export interface GeneratedModule {
  /** The module's file name: `org.weft.AppD1.ts`. */
  file: string;
  /** The constant it exports: `AppD1`. */
  constant: string;
  text: string;
}

/** The constant a contract's module exports: the interface name without its vendor prefix, dots removed. */
export function constantName(interfaceName: string): string {
  return interfaceName.replace(/^org\.(weft|freedesktop)\./, "").replaceAll(".", "");
}

/** The errors documented in the XML's header comment: their domain (`org.weft.AppD1`) and short names. */
export function documentedErrors(xml: string, source: string): { domain: string | undefined; names: string[] } {
  const header = /<!--([\s\S]*?)-->/.exec(xml.slice(xml.indexOf("<!--"), xml.indexOf("<node")))?.[1] ?? "";
  if (/^\s*Errors: none\b/m.test(header)) return { domain: undefined, names: [] };
  const start = /^( *)Errors, ([A-Za-z0-9_.]+)\.Error\.<name>[^\n]*:\n/m.exec(header);
  if (start === null) throw new Error(`${source}: the header comment documents no errors ("Errors, <domain>.Error.<name>:" or "Errors: none")`);
  const indent = start[1]!.length;
  const names: string[] = [];
  for (const line of header.slice(start.index + start[0].length).split("\n")) {
    const entry = new RegExp(`^ {${indent + 2}}([A-Z][A-Za-z0-9]*)(?: {2,}\\S.*)?$`).exec(line);
    if (entry !== null) {
      if (names.includes(entry[1]!)) throw new Error(`${source}: error ${entry[1]} is documented twice`);
      names.push(entry[1]!);
    } else if (!new RegExp(`^ {${indent + 3},}\\S`).test(line)) {
      break; // not an entry, not a continuation: the list is over
    }
  }
  if (names.length === 0) throw new Error(`${source}: the "Errors, …" list names no error`);
  return { domain: start[2]!, names };
}

/** The TypeScript type of a value of one complete D-Bus type, as the service kit passes it. */
export function tsType(signature: string): string {
  const [type, rest] = readType(signature);
  if (rest !== "") throw new Error(`"${signature}" is not one complete type`);
  return type;
}

function readType(sig: string): [string, string] {
  const c = sig[0];
  const rest = sig.slice(1);
  switch (c) {
    case "y": case "n": case "q": case "i": case "u": case "d": case "h":
      return ["number", rest];
    case "x": case "t":
      return ["bigint", rest];
    case "b":
      return ["boolean", rest];
    case "s": case "o": case "g":
      return ["string", rest];
    case "v":
      return ["Variant", rest];
    case "a": {
      if (rest[0] === "y") return ["Uint8Array", rest.slice(1)];
      if (rest[0] === "{") {
        const [key, afterKey] = readType(rest.slice(1));
        const [value, afterValue] = readType(afterKey);
        if (afterValue[0] !== "}") throw new Error(`unterminated dict entry in "${sig}"`);
        return [`Record<${key === "string" ? "string" : key}, ${value}>`, afterValue.slice(1)];
      }
      const [element, after] = readType(rest);
      return [/^[A-Za-z0-9]+$/.test(element) ? `${element}[]` : `Array<${element}>`, after];
    }
    case "(": {
      const members: string[] = [];
      let at = rest;
      while (at[0] !== ")") {
        if (at === "") throw new Error(`unterminated struct in "${sig}"`);
        const [member, after] = readType(at);
        members.push(member);
        at = after;
      }
      return [`[${members.join(", ")}]`, at.slice(1)];
    }
    default:
      throw new Error(`unknown D-Bus type code "${c}" in "${sig}"`);
  }
}

function tuple(args: ContractArg[]): string {
  return `[${args.map((arg, i) => `${arg.name ?? `arg${i}`}: ${tsType(arg.type)}`).join(", ")}]`;
}

function result(args: ContractArg[]): string {
  if (args.length === 0) return "void";
  if (args.length === 1) return tsType(args[0]!.type);
  return tuple(args);
}

function section(name: string, members: string[]): string[] {
  return members.length === 0 ? [`  ${name}: {};`] : [`  ${name}: {`, ...members.map((m) => `    ${m}`), "  };"];
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** The module for one contract file. */
export function generateModule(xmlFile: string): GeneratedModule {
  const xml = readFileSync(xmlFile, "utf8");
  const source = basename(xmlFile);
  const iface: ContractInterface = pickInterface(parseContract(xml, source));
  const errors = documentedErrors(xml, source);
  const constant = constantName(iface.name);
  const body: string[] = [
    `/** ${iface.name}: ${source}. */`,
    `export const ${constant} = defineInterface<{`,
    ...section("methods", iface.methods.map((m) => `${m.name}: { in: ${tuple(m.inArgs)}; out: ${result(m.outArgs)} };`)),
    ...section("signals", iface.signals.map((s) => `${s.name}: ${tuple(s.args)};`)),
    ...section("properties", iface.properties.map((p) => `${p.name}: ${tsType(p.type)};`)),
    `  errors: ${errors.names.length === 0 ? "never" : errors.names.map(quote).join(" | ")};`,
    `}>(${JSON.stringify(iface)}, ${quote(errors.domain ?? iface.name)}, ${JSON.stringify(errors.names)});`,
  ];
  const usesVariant = body.slice(0, -1).some((line) => /\bVariant\b/.test(line));
  const text = [
    `// Made by protocol/dbus/generate.ts from ${source}: edit the XML, then run the generator (protocol.test.ts`,
    "// fails while this file is not what it makes).",
    "",
    `import { defineInterface${usesVariant ? ", type Variant" : ""} } from "./contract.ts";`,
    "",
    ...body,
    "",
  ].join("\n");
  return { file: source.replace(/\.xml$/, ".ts"), constant, text };
}

/** Every contract's module, and the index that exports them. */
export function generateAll(dir = DIR): GeneratedModule[] {
  const modules = readdirSync(dir)
    .filter((name) => name.endsWith(".xml"))
    .sort()
    .map((name) => generateModule(join(dir, name)));
  const index = [
    "// Made by protocol/dbus/generate.ts: every D-Bus contract of WEFT, typed (contract.ts says what each holds).",
    "",
    ...modules.map((m) => `export { ${m.constant} } from "./${m.file}";`),
    'export { errorName, type Endpoint, type ErrorsOf, type InterfaceContract, type MethodsOf, type PropertiesOf, type SignalsOf, type Variant } from "./contract.ts";',
    'export { outputRows, outputTuple, windowRows, windowTuple, type ClientRole, type OutputRow, type WindowRow } from "./compositor-rows.ts";',
    'export { AppD, AppShell, Compositor, FilePortal, Notifications as NotificationsService, Runtime, Shell, Test } from "./names.ts";',
    "",
  ].join("\n");
  return [...modules, { file: "index.ts", constant: "", text: index }];
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const module of generateAll()) {
    const path = join(DIR, module.file);
    let current = "";
    try {
      current = readFileSync(path, "utf8");
    } catch {}
    if (current === module.text) continue;
    if (check) stale.push(module.file);
    else writeFileSync(path, module.text);
  }
  if (stale.length > 0) {
    console.error(`out of date: ${stale.join(", ")} (run node_modules/.bin/bun protocol/dbus/generate.ts)`);
    process.exit(1);
  }
}
