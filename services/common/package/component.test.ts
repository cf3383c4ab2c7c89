import { describe, expect, test } from "bun:test";
import {
  assertComponentPreamble,
  ComponentError,
  type ComponentErrorCode,
  type ComponentInfo,
  inspectComponent,
  MAX_COMPONENT_BYTES,
  parseInterfaceName,
  worldOfWit,
} from "./component.ts";
import { buildComponent, buildCoreModule } from "../../../testing/components.ts";

/** A small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function rejection(promise: Promise<unknown>): Promise<ComponentError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ComponentError);
    return error as ComponentError;
  }
  throw new Error("expected a ComponentError");
}

function preambleCode(bytes: number[]): ComponentErrorCode | "ok" {
  try {
    assertComponentPreamble(new Uint8Array(bytes));
    return "ok";
  } catch (error) {
    expect(error).toBeInstanceOf(ComponentError);
    return (error as ComponentError).code;
  }
}

describe("the preamble", () => {
  const magic = [0x00, 0x61, 0x73, 0x6d];

  test.each([
    ["a component", [...magic, 0x0d, 0x00, 0x01, 0x00], "ok"],
    ["a core module", [...magic, 0x01, 0x00, 0x00, 0x00], "core-module"],
    ["an older component encoding", [...magic, 0x0c, 0x00, 0x01, 0x00], "unsupported-encoding"],
    ["an unknown layer", [...magic, 0x0d, 0x00, 0x02, 0x00], "not-wasm"],
    ["nothing", [], "not-wasm"],
    ["a cut-off preamble", [...magic, 0x0d, 0x00], "not-wasm"],
    ["an ELF file", [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], "not-wasm"],
    ["text", [...new TextEncoder().encode("<!doctype html>")], "not-wasm"],
  ])("%s → %s", (_what, bytes, code) => {
    expect(preambleCode(bytes as number[])).toBe(code as ComponentErrorCode | "ok");
  });

  test("a core module gets an error that says how to make a component", async () => {
    const error = await rejection(inspectComponent(await buildCoreModule()));
    expect(error.code).toBe("core-module");
    expect(error.message).toContain("wasm-tools component new");
    expect(error.message).toContain("wasm32-wasip2");
  });
});

describe("inspectComponent", () => {
  test("lists fully qualified imports and exports with versions", async () => {
    const info = await inspectComponent(
      await buildComponent({
        imports: ["weft:app/fetch@0.1.0", "weft:app/notify@0.1.0", "wasi:cli/environment@0.2.0", "example:thing/api@1.2.3", "log"],
        exports: ["example:thing/service@1.2.3"],
      }),
    );
    expect([...info.imports].sort()).toEqual(
      ["example:thing/api@1.2.3", "log", "wasi:cli/environment@0.2.0", "weft:app/fetch@0.1.0", "weft:app/notify@0.1.0"].sort(),
    );
    expect([...info.exports].sort()).toEqual(["example:thing/service@1.2.3", "wasi:cli/run@0.2.0"]);
  });

  test("a component with no imports and no exports is read as such", async () => {
    expect(await inspectComponent(await buildComponent({ exportRun: false }))).toEqual({ imports: [], exports: [] });
  });

  test("a bare component preamble is an empty component", async () => {
    expect(await inspectComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toEqual({ imports: [], exports: [] });
  });

  test("input over the size limit is refused before it is decoded", async () => {
    const huge = { length: MAX_COMPONENT_BYTES + 1 } as unknown as Uint8Array; // never read: the length decides
    const error = await rejection(inspectComponent(huge));
    expect(error.code).toBe("too-large");
    expect(error.message).toContain("256 MiB");
  });
});

describe("hostile bytes", () => {
  /** Every outcome must be a ComponentInfo or a ComponentError: no other exception, no hang. */
  async function outcome(bytes: Uint8Array): Promise<"ok" | ComponentErrorCode> {
    try {
      const info = await inspectComponent(bytes);
      expect(Array.isArray(info.imports) && Array.isArray(info.exports)).toBe(true);
      return "ok";
    } catch (error) {
      if (!(error instanceof ComponentError)) throw error;
      return error.code;
    }
  }

  test("a component truncated at any of many points is a clean error", async () => {
    const valid = await buildComponent({ imports: ["weft:app/fetch@0.1.0", "wasi:cli/environment@0.2.0"] });
    const codes = new Set<string>();
    for (let cut = 9; cut < valid.length; cut += Math.max(1, Math.floor(valid.length / 150))) {
      codes.add(await outcome(valid.subarray(0, cut)));
    }
    expect(codes.has("invalid-component")).toBe(true);
    expect([...codes].every((c) => c === "invalid-component" || c === "ok")).toBe(true);
  });

  test("random bytes after a valid component preamble are a clean error", async () => {
    const next = random(0x5eed);
    for (let i = 0; i < 200; i++) {
      const body = Uint8Array.from({ length: Math.floor(next() * 4096) }, () => Math.floor(next() * 256));
      const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, ...body]);
      expect(["ok", "invalid-component"]).toContain(await outcome(bytes));
    }
  });

  test("a component with a few corrupted bytes is read or refused, never crashes", async () => {
    const valid = await buildComponent({ imports: ["weft:app/fetch@0.1.0", "weft:app/files@0.1.0"] });
    const next = random(42);
    for (let i = 0; i < 200; i++) {
      const bytes = valid.slice();
      for (let k = 0; k < 3; k++) bytes[8 + Math.floor(next() * (bytes.length - 8))] = Math.floor(next() * 256);
      expect(["ok", "invalid-component"]).toContain(await outcome(bytes));
    }
    // The decoder survives all of that: a good component still reads.
    expect((await inspectComponent(valid)).imports).toContain("weft:app/files@0.1.0");
  });

  test("section lengths far beyond the input are a clean error", async () => {
    const lying = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(await outcome(lying)).toBe("invalid-component");
  });
});

describe("worldOfWit", () => {
  const world = (wit: string): ComponentInfo => worldOfWit(wit);

  test("reads wasm-tools' usual output", () => {
    const wit = `package root:component;

world root {
  import weft:app/fetch@0.1.0;
  import wasi:cli/environment@0.2.0;
  import bar: interface {
    use wasi:cli/types@0.2.0.{t};

    x: func(a: t) -> result<list<t>>;
  }
  use wasi:cli/types@0.2.0.{t};
  import %import: func(x: t);

  export z: func(x: t) -> result<_, string>;
  export wasi:cli/run@0.2.0;
  export test:app/api@1.0.0-rc.1+build.5;
}
`;
    expect(world(wit)).toEqual({
      imports: ["weft:app/fetch@0.1.0", "wasi:cli/environment@0.2.0", "bar", "import"],
      exports: ["z", "wasi:cli/run@0.2.0", "test:app/api@1.0.0-rc.1+build.5"],
    });
  });

  test("does not depend on line breaks, spacing or comments", () => {
    const wit = `/* header /* nested */ still comment */ package root:component;// trailing
world root{import a:b/c@1.0.0;import f:func()->u32;/// doc
  // import fake:not/real@0.0.0;
  /* export fake:not/real@0.0.0; */
  import   g
    :
    interface{ h: func(); record r { x: u8 } }
  export wasi:cli/run@0.2.3 ;}`;
    expect(world(wit)).toEqual({ imports: ["a:b/c@1.0.0", "f", "g"], exports: ["wasi:cli/run@0.2.3"] });
  });

  test("skips annotations, type definitions, nested packages and interfaces outside the world", () => {
    const wit = `package root:component;
interface helper { import-like: func(); }
package other:pkg { interface export { f: func(); } world w { import x:y/z; } }
@since(version = 0.2.0)
world root {
  @unstable(feature = thing)
  import wasi:clocks/wall-clock@0.2.0;
  type t = u32;
  record r { a: t, b: list<tuple<u8, u8>> }
  resource res { constructor(); m: func() -> option<res>; }
  variant v { a, b(u32) }
  flags fl { x, y }
  enum e { one, two }
  @deprecated(version = 0.2.1)
  export %interface: func(r: r) -> result<list<u8>, string>;
}
world second { import not:this/one; }`;
    expect(world(wit)).toEqual({ imports: ["wasi:clocks/wall-clock@0.2.0"], exports: ["interface"] });
  });

  test.each([
    ["", "no world"],
    ["package root:component;", "no world"],
    ["world root", "no body"],
    ["world root { import a:b/c;", "not closed"],
    ["world root { import ; }", "no name"],
  ])("%p is a ComponentError (%s)", (wit, fragment) => {
    expect(() => worldOfWit(wit)).toThrow(ComponentError);
    expect(() => worldOfWit(wit)).toThrow(fragment);
  });

  test("stray closing brackets, unbalanced blocks and junk never hang or throw anything else", () => {
    const alphabet = ["world", " root", "{", "}", "(", ")", ";", ":", "/", "@", "import", "export", " a:b/c", "//", "/*", "*/", "\n", "%", " f", "interface", "0.2.0", "."];
    const next = random(7);
    for (let i = 0; i < 3000; i++) {
      const wit = Array.from({ length: 1 + Math.floor(next() * 30) }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
      try {
        const info = worldOfWit(wit);
        expect(Array.isArray(info.imports)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(ComponentError);
      }
    }
  });
});

describe("parseInterfaceName", () => {
  test.each([
    ["wasi:cli/run@0.2.0", { namespace: "wasi", package: "cli", interface: "run", version: "0.2.0", unversioned: "wasi:cli/run" }],
    ["weft:app/fetch", { namespace: "weft", package: "app", interface: "fetch", unversioned: "weft:app/fetch" }],
    ["a-b:c-d/e-f@1.0.0-rc.1+b", { namespace: "a-b", package: "c-d", interface: "e-f", version: "1.0.0-rc.1+b", unversioned: "a-b:c-d/e-f" }],
  ])("%p", (name, parts) => {
    expect(parseInterfaceName(name)).toEqual(parts);
  });

  test.each(["log", "", "wasi:cli", "wasi/run", ":cli/run"])("%p is not a qualified interface name", (name) => {
    expect(parseInterfaceName(name)).toBeUndefined();
  });
});
