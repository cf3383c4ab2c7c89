/**
 * What a Wasm component imports and exports, read from its binary without running it.
 *
 * Phases: (1) the 8-byte preamble tells a component from a core module or from something that is not Wasm;
 * (2) jco's bundled wasm-tools decodes and validates the component and prints its world as WIT text;
 * (3) a small scanner reads the world's `import`/`export` items out of that text.
 *
 * Preamble layout (Wasm binary format; component model binary format):
 *
 *   bytes 0..3  00 61 73 6d   "\0asm", both kinds
 *   bytes 4..5  version (u16 LE)   core module: 01 00    component: 0d 00 (pre-1.0 component encoding)
 *   bytes 6..7  layer   (u16 LE)   core module: 00 00    component: 01 00
 *
 * wasm-tools prints a core module as an empty world, which would read as "imports nothing, exports nothing";
 * the preamble check turns that into an error that says how to make a component.
 */

/**
 * jco is loaded on first use: importing it costs ~250 ms (it pulls in the transpiler and binaryen), which
 * callers that only read manifests (`weft-pack list`, `info`) should not pay.
 */
let jco: Promise<typeof import("@bytecodealliance/jco")> | undefined;
function loadJco(): Promise<typeof import("@bytecodealliance/jco")> {
  jco ??= import("@bytecodealliance/jco");
  return jco;
}

/** A component's world: fully qualified interface names with versions (`wasi:cli/run@0.2.0`), or the plain
 * names of inline interfaces and single functions (`import log: func(…)` → `log`). */
export interface ComponentInfo {
  readonly imports: readonly string[];
  readonly exports: readonly string[];
}

/** The largest binary this module reads: far above any real app, low enough to keep a check's memory bounded. */
export const MAX_COMPONENT_BYTES = 256 * 1024 * 1024;

export type ComponentErrorCode = "not-wasm" | "core-module" | "unsupported-encoding" | "too-large" | "invalid-component";

/** Why a binary could not be inspected; `code` for programs, the message for people. */
export class ComponentError extends Error {
  constructor(
    readonly code: ComponentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ComponentError";
  }
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
/** The component encoding version wasm-tools (and Wasmtime) read today. */
const COMPONENT_VERSION = 0x0d;
const COMPONENT_LAYER = 1;
const CORE_LAYER = 0;

const MAKE_A_COMPONENT =
  "build for a component target (cargo build --target wasm32-wasip2), or wrap the module with `wasm-tools component new app.wasm --adapt wasi_snapshot_preview1.command.wasm -o app.wasm` (jco new does the same)";

/**
 * Checks the preamble: throws a ComponentError unless `bytes` starts like a component of the encoding
 * version this WEFT reads.
 */
export function assertComponentPreamble(bytes: Uint8Array): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ComponentError("not-wasm", "is not a WebAssembly binary (it does not start with \\0asm): point runtime.module at the built .wasm file");
  }
  const version = (bytes[4] ?? 0) | ((bytes[5] ?? 0) << 8);
  const layer = (bytes[6] ?? 0) | ((bytes[7] ?? 0) << 8);
  if (layer === CORE_LAYER) {
    throw new ComponentError("core-module", `is a core WebAssembly module, not a component: ${MAKE_A_COMPONENT}`);
  }
  if (layer !== COMPONENT_LAYER) {
    throw new ComponentError("not-wasm", `has an unknown WebAssembly layer ${layer}: it is neither a core module nor a component`);
  }
  if (version !== COMPONENT_VERSION) {
    throw new ComponentError(
      "unsupported-encoding",
      `is a component in binary encoding version 0x${version.toString(16)}, but this WEFT reads version 0x${COMPONENT_VERSION.toString(16)}: rebuild it with a current toolchain`,
    );
  }
}

/** Decodes a component binary and returns its imports and exports. Throws ComponentError. */
export async function inspectComponent(bytes: Uint8Array): Promise<ComponentInfo> {
  if (bytes.length > MAX_COMPONENT_BYTES) {
    throw new ComponentError("too-large", `is ${bytes.length} bytes; WEFT inspects components up to ${MAX_COMPONENT_BYTES} bytes (256 MiB)`);
  }
  assertComponentPreamble(bytes);
  const { componentWit } = await loadJco();
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (error) {
    // wasm-tools reports malformed input as a ComponentError ("Failed to decode wit component\n<detail>").
    const detail = error instanceof Error ? error.message.replace(/\s+/g, " ").trim() : String(error);
    throw new ComponentError("invalid-component", `is not a valid component (${detail}): rebuild it`);
  }
  return worldOfWit(wit);
}

/**
 * Reads the import and export names of the first world in WIT text as wasm-tools prints it:
 *
 *   world root {
 *     import wasi:cli/environment@0.2.0;        → imports "wasi:cli/environment@0.2.0"
 *     import log: func(msg: string);            → imports "log"
 *     import bar: interface { x: func(); }      → imports "bar"
 *     use wasi:io/streams@0.2.0.{input-stream}; (skipped, like type definitions and @annotations)
 *     export wasi:cli/run@0.2.0;                → exports "wasi:cli/run@0.2.0"
 *   }
 *
 * Whitespace, comments (`//`, nested `/* *\/`) and line breaks may fall anywhere between tokens; `%`-escaped
 * identifiers are unescaped. Throws a ComponentError (never anything else) if no world can be read.
 */
export function worldOfWit(wit: string): ComponentInfo {
  const scanner = new WitScanner(wit);
  const imports: string[] = [];
  const exports: string[] = [];

  // Top level: skip items (package declaration, nested packages, interfaces) until `world <name> {`.
  for (;;) {
    const before = scanner.offset();
    if (scanner.atEnd()) throw invalidWit("it has no world");
    if (scanner.take("@")) {
      scanner.skipAnnotation();
      continue;
    }
    if (scanner.word() === "world") {
      scanner.word(); // the world's name
      if (!scanner.take("{")) throw invalidWit("its world has no body");
      break;
    }
    scanner.skipItem();
    scanner.ensureProgress(before);
  }

  // World body: one item at a time until the closing brace.
  for (;;) {
    const before = scanner.offset();
    if (scanner.atEnd()) throw invalidWit("its world is not closed");
    if (scanner.take("}")) break;
    if (scanner.take("@")) {
      scanner.skipAnnotation();
      continue;
    }
    const keyword = scanner.word();
    if (keyword === "import" || keyword === "export") {
      const name = scanner.externName();
      if (name === undefined) throw invalidWit(`an ${keyword} has no name`);
      (keyword === "import" ? imports : exports).push(name);
    }
    scanner.skipItem();
    scanner.ensureProgress(before);
  }
  return { imports, exports };
}

function invalidWit(why: string): ComponentError {
  return new ComponentError("invalid-component", `could not be read: the WIT printed for it is not understood (${why})`);
}

const IDENT_CHAR = /[A-Za-z0-9_%-]/;
// An interface path: `ns:pkg/name@1.2.3-pre.1+build`, possibly with nested package paths.
const PATH_CHAR = /[A-Za-z0-9_%\-:/@.+]/;

/** A cursor over WIT text that knows comments and bracket nesting, nothing more. */
class WitScanner {
  private position = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    this.skipTrivia();
    return this.position >= this.text.length;
  }

  offset(): number {
    return this.position;
  }

  /** Steps over one character if nothing was consumed since `before`, so no input can stall a loop. */
  ensureProgress(before: number): void {
    if (this.position === before) this.position++;
  }

  /** Consumes `token` (after trivia) if it is next. */
  take(token: string): boolean {
    this.skipTrivia();
    if (this.text.startsWith(token, this.position)) {
      this.position += token.length;
      return true;
    }
    return false;
  }

  /** Skips whitespace and comments; block comments nest in WIT. */
  skipTrivia(): void {
    const text = this.text;
    while (this.position < text.length) {
      const c = text[this.position] ?? "";
      if (/\s/.test(c)) {
        this.position++;
      } else if (text.startsWith("//", this.position)) {
        const end = text.indexOf("\n", this.position);
        this.position = end === -1 ? text.length : end + 1;
      } else if (text.startsWith("/*", this.position)) {
        let depth = 0;
        while (this.position < text.length) {
          if (text.startsWith("/*", this.position)) {
            depth++;
            this.position += 2;
          } else if (text.startsWith("*/", this.position)) {
            depth--;
            this.position += 2;
            if (depth === 0) break;
          } else {
            this.position++;
          }
        }
      } else {
        return;
      }
    }
  }

  /** An identifier (keyword or name), or undefined if the next token is not one. */
  word(): string | undefined {
    this.skipTrivia();
    const start = this.position;
    while (this.position < this.text.length && IDENT_CHAR.test(this.text[this.position] ?? "")) this.position++;
    return this.position === start ? undefined : this.text.slice(start, this.position);
  }

  /**
   * The name after `import`/`export`: an interface path (`wasi:cli/run@0.2.0`, followed by `;`) or a plain
   * name followed by `:` and its type. A path always has a `/`, so `name:interface` with no space is still
   * read as the plain name `name`.
   */
  externName(): string | undefined {
    this.skipTrivia();
    const start = this.position;
    while (this.position < this.text.length && PATH_CHAR.test(this.text[this.position] ?? "")) this.position++;
    let token = this.text.slice(start, this.position);
    if (token.length === 0) return undefined;
    if (!token.includes("/")) {
      // Plain name: stop before the `:` that introduces its type, and leave the rest to skipItem.
      const colon = token.indexOf(":");
      if (colon !== -1) {
        this.position = start + colon;
        token = token.slice(0, colon);
      }
    } else if (token.endsWith(".")) {
      // `use`-style trailing dot never ends an import name; give it back.
      token = token.slice(0, -1);
      this.position--;
    }
    return unescapeWitName(token) || undefined;
  }

  /**
   * Skips to the end of the current item: a `;` at nesting depth 0, or the `}` that closes a block opened at
   * depth 0 (`interface { … }`, `record r { … }`), or just before the `}` that closes the enclosing block.
   */
  skipItem(): void {
    let depth = 0;
    while (!this.atEnd()) {
      const c = this.text[this.position];
      if (c === "{" || c === "(") {
        depth++;
      } else if (c === "}" || c === ")") {
        if (depth === 0) return; // the enclosing block's end: leave it for the caller
        depth--;
        if (depth === 0 && c === "}") {
          this.position++;
          return;
        }
      } else if (c === ";" && depth === 0) {
        this.position++;
        return;
      }
      this.position++;
    }
  }

  /** Skips the rest of `@name(…)` after the `@`: `@since(version = 0.2.0)`, `@unstable(feature = x)`. */
  skipAnnotation(): void {
    this.word();
    if (!this.take("(")) return;
    let depth = 1;
    while (depth > 0 && !this.atEnd()) {
      const c = this.text[this.position++];
      if (c === "(") depth++;
      else if (c === ")") depth--;
    }
  }
}

/** `%import` → `import`, `wasi:%interface/x` → `wasi:interface/x`: `%` only escapes keywords in WIT. */
function unescapeWitName(name: string): string {
  return name.replace(/(^|[:/])%/g, "$1");
}

/** The parts of a qualified interface name. */
export interface InterfaceName {
  /** `wasi` in `wasi:cli/run@0.2.0`. */
  readonly namespace: string;
  /** `cli`. */
  readonly package: string;
  /** `run`. */
  readonly interface: string;
  /** `0.2.0`, or undefined when unversioned. */
  readonly version?: string;
  /** `wasi:cli/run`. */
  readonly unversioned: string;
}

/** Splits `ns:pkg/iface@version`; undefined for plain names (inline interfaces, functions). */
export function parseInterfaceName(name: string): InterfaceName | undefined {
  const match = /^([a-z][a-z0-9-]*):([a-z][a-z0-9-:]*)\/([a-z][a-z0-9-]*)(?:@(.+))?$/i.exec(name);
  if (match === null) return undefined;
  const [, namespace = "", pkg = "", iface = "", version] = match;
  const base = { namespace, package: pkg, interface: iface, unversioned: `${namespace}:${pkg}/${iface}` };
  return version === undefined ? base : { ...base, version };
}
