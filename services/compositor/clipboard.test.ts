/**
 * The clipboard as it runs: the real weft-compositor service (headless wlroots) on a private bus, with Debian's
 * wl-clipboard (wl-copy, wl-paste) as the Wayland clients. Without wlr-data-control (which application clients
 * never get), wl-clipboard maps a 1x1 window, takes keyboard focus (the layout focuses new application windows)
 * and copies with the focus serial, or pastes the selection wlroots offers to the focused client: exactly the
 * path every real application takes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ErrorNames, isBusError } from "../common/bus/index.ts";
import { closeFd, makePipe } from "../common/bus/libc.ts";
import { takeSealedContent, withSealedContent } from "../common/os/sealed-content.ts";
import { CLIPBOARD_MAX_BYTES } from "./clipboard.ts";
import { CompositorWorld, type SpawnedClient } from "../../testing/compositor.ts";
import { Compositor1 } from "../../protocol/dbus/index.ts";
import { descendantsOf } from "../common/os/processes.ts";

const TEXT = "text/plain;charset=utf-8";
let world: CompositorWorld;
let nextSession = 100n;

beforeAll(async () => {
  world = await CompositorWorld.start();
});
afterAll(() => world.close());

// The bytes travel in sealed memfds (common/os/sealed-content.ts).
const get = async (mime = TEXT, primary = false) => Buffer.from(takeSealedContent(((await world.call(primary ? "PrimarySelectionGet" : "ClipboardGet", "s", [mime])) as [number])[0], 1 << 30));
const set = (data: string | Uint8Array, mime = TEXT, primary = false) =>
  withSealedContent("test-clipboard", Buffer.from(data), (fd) => world.call(primary ? "PrimarySelectionSet" : "ClipboardSet", "hs", [fd, mime]));

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

function expectError(error: Error, name: string, text?: string): void {
  if (!isBusError(error)) throw error;
  if (!error.type.endsWith(name)) throw new Error(`expected ${name}, got ${error.type}: ${error.message}`);
  expect(isBusError(error, name.includes(".") ? name : `${Compositor1.name}.Error.${name}`)).toBe(true);
  if (text !== undefined) expect(error.message).toContain(text);
}

/** Polls ClipboardGet (or PrimarySelectionGet) until the selection reads as `expected`. */
async function waitForSelection(expected: string, primary = false, mime = TEXT, encoding: BufferEncoding = "utf8"): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  for (;;) {
    try {
      last = (await get(mime, primary)).toString(encoding);
      if (last === expected) return;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`the ${primary ? "primary " : ""}selection never read ${JSON.stringify(expected.slice(0, 80))}; last: ${last.slice(0, 200)}`);
    await Bun.sleep(25);
  }
}

/** wl-copy in a session of its own; --foreground keeps it ours to stop (it serves the copy until replaced). */
function copy(args: string[], options: { stdin?: "pipe" } = {}): Promise<SpawnedClient> {
  return world.spawnClient(["wl-copy", "--foreground", ...args], "application", nextSession++, options);
}

/** wl-paste in a session of its own; resolves with what it printed once it exited. */
async function paste(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const client = await world.spawnClient(["wl-paste", ...args], "application", nextSession++);
  const timer = setTimeout(() => client.kill(), 20_000);
  const output = await client.output;
  clearTimeout(timer);
  return { ...output, code: client.process.exitCode };
}

async function exited(client: SpawnedClient, what: string): Promise<void> {
  const timer = setTimeout(() => client.kill(), 20_000);
  await client.process.exited;
  clearTimeout(timer);
  if (client.process.signalCode !== null) throw new Error(`${what} did not exit by itself`);
}

describe("nothing copied yet", () => {
  test("ClipboardGet and PrimarySelectionGet fail with NotFound; wl-paste finds nothing", async () => {
    expectError(await failure(get()), "NotFound", "nothing is copied");
    expectError(await failure(get(TEXT, true)), "NotFound", "primary selection");
    const pasted = await paste(["--no-newline"]);
    expect(pasted.code).not.toBe(0);
    expect(pasted.stdout).toBe("");
  });
});

describe("between clients", () => {
  test("wl-copy in one session, wl-paste in another: the text arrives unchanged", async () => {
    const text = "copied in session A — pasted in B ✓";
    const owner = await copy([text]);
    await waitForSelection(text);
    const pasted = await paste(["--no-newline"]);
    expect(pasted).toMatchObject({ stdout: text, code: 0 });
    // A copy in another client replaces it: the first owner is told (cancelled) and wl-copy exits.
    const second = await copy(["second copy"]);
    await waitForSelection("second copy");
    await exited(owner, "the replaced wl-copy");
    expect((await paste(["--no-newline"])).stdout).toBe("second copy");
    await second.kill();
  });

  test("the primary selection travels separately from the clipboard", async () => {
    await set("clipboard stays");
    const owner = await copy(["--primary", "selected text"]);
    await waitForSelection("selected text", true);
    expect((await paste(["--primary", "--no-newline"])).stdout).toBe("selected text");
    expect((await paste(["--no-newline"])).stdout).toBe("clipboard stays");
    await owner.kill();
  });
});

describe("ClipboardGet", () => {
  test("reads what wl-copy copied; a text request falls back to the text type the owner offers", async () => {
    const owner = await copy(["--type", "text/plain", "only text/plain"]);
    await waitForSelection("only text/plain", false, "text/plain");
    expect((await get(TEXT)).toString()).toBe("only text/plain");
    expect((await get("UTF8_STRING")).toString()).toBe("only text/plain");
    await owner.kill();
  });

  test("binary data of another type comes back byte for byte; other types are NotOffered, naming what is", async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff); // more than one pipe buffer
    const owner = await copy(["--type", "application/x-weft-test"], { stdin: "pipe" });
    owner.process.stdin!.write(bytes);
    owner.process.stdin!.end();
    await waitForSelection(Buffer.from(bytes).toString("latin1"), false, "application/x-weft-test", "latin1");
    expect(Buffer.compare(await get("application/x-weft-test"), Buffer.from(bytes))).toBe(0);
    expectError(await failure(get(TEXT)), "NotOffered", "application/x-weft-test");
    expectError(await failure(get("image/png")), "NotOffered", "application/x-weft-test");
    await owner.kill();
  });

  test("an owner that offers more than 16 MiB is cut off with TooLarge; 4 MiB arrives whole", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, "a");
    big.write("start", 0);
    big.write("end", big.length - 3);
    const owner = await copy([], { stdin: "pipe" });
    owner.process.stdin!.write(big);
    owner.process.stdin!.end();
    await waitForSelection(big.toString());
    await owner.kill();

    const huge = await copy([], { stdin: "pipe" });
    huge.process.stdin!.write(Buffer.alloc(CLIPBOARD_MAX_BYTES + 1, "b"));
    huge.process.stdin!.end();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const error = await failure(get());
      if (isBusError(error, `${Compositor1.name}.Error.TooLarge`)) break;
      if (Date.now() > deadline) throw error;
      await Bun.sleep(25);
    }
    await huge.kill();
  });

  test("an owner that never writes: TimedOut after 5 s, and the compositor keeps serving meanwhile", async () => {
    const owner = await copy(["frozen owner"]);
    await waitForSelection("frozen owner");
    owner.process.kill("SIGSTOP"); // it will never answer the send request
    try {
      const stuck = failure(get());
      // While the read waits on the frozen owner, everything else answers.
      expect(((await world.call("ListOutputs")) as [unknown[]])[0].length).toBe(1);
      await set("primary meanwhile", TEXT, true);
      expect((await get(TEXT, true)).toString()).toBe("primary meanwhile");
      expectError(await stuck, "TimedOut", "did not finish writing");
    } finally {
      owner.process.kill("SIGCONT");
      await owner.kill();
    }
  }, 60_000); // it sits out the whole read timeout (READ_TIMEOUT_MS, 5 s)
});

describe("ClipboardSet", () => {
  test("wl-paste in any session pastes what ClipboardSet set, under every text type; ClipboardGet reads it back", async () => {
    const text = "set from the bus: ünïcødé ✓";
    await set(text);
    expect((await paste(["--no-newline"])).stdout).toBe(text);
    const types = (await paste(["--list-types"])).stdout.split("\n").filter(Boolean);
    expect(types.sort()).toEqual(["STRING", "TEXT", "UTF8_STRING", "text/plain", TEXT].sort());
    expect((await paste(["--no-newline", "--type", "UTF8_STRING"])).stdout).toBe(text);
    expect((await get()).toString()).toBe(text);
  });

  test("another mime type is offered as itself only", async () => {
    await set(new Uint8Array([0, 1, 2, 255]), "application/x-weft-test");
    expect((await paste(["--list-types"])).stdout.trim()).toBe("application/x-weft-test");
    expect([...(await get("application/x-weft-test"))]).toEqual([0, 1, 2, 255]);
    expectError(await failure(get()), "NotOffered");
  });

  test("PrimarySelectionSet reaches wl-paste --primary", async () => {
    await set("primary from the bus", TEXT, true);
    expect((await paste(["--primary", "--no-newline"])).stdout).toBe("primary from the bus");
  });

  test("empty data is an empty selection, not an error", async () => {
    await set("");
    expect((await get()).length).toBe(0);
    const pasted = await paste(["--no-newline"]);
    expect(pasted).toMatchObject({ stdout: "", code: 0 });
  });

  test("a paster that never reads does not stall the compositor; replacing the selection closes its transfer", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, "z");
    await set(big);
    // wl-paste writes into a pipe nobody reads (sleep), so it stops reading the compositor's data.
    const stuck = await world.spawnClient(["sh", "-c", "wl-paste | sleep 600 3>&-"], "application", nextSession++);
    const service = world.service.pid;
    const transfer = await waitFor(() => sharedPipes(service, descendants(stuck.process.pid)), "the paste transfer");
    // Bun's own read of the same source proceeds while the paster is stuck.
    expect((await get()).length).toBe(big.length);
    await set("replaced");
    await waitFor(() => (pipesOf(service).some((pipe) => transfer.includes(pipe)) ? [] : [true]), "the transfer to close");
    await stuck.kill();
  });
});

describe("hostile input", () => {
  test("malformed mime types are InvalidArgs, for every method", async () => {
    // (A NUL cannot even be sent: D-Bus strings cannot hold one.)
    const bad = ["", "text/plain\n", "text/plain\r\nX-Evil: 1", "text/pla\u0007in", "x".repeat(10 * 1024), `text/${"p".repeat(300)}`, "text/plaïn", "no-slash", "/etc/passwd", "../x"];
    for (const mime of bad) {
      for (const member of ["ClipboardGet", "PrimarySelectionGet"]) {
        expectError(await failure(world.call(member, "s", [mime])), "InvalidArgs", "not a mime type");
      }
      for (const member of ["ClipboardSet", "PrimarySelectionSet"]) {
        expectError(await failure(withSealedContent("test", Buffer.from("x"), (fd) => world.call(member, "hs", [fd, mime]))), "InvalidArgs", "not a mime type");
      }
    }
  });

  test("data above 16 MiB is TooLarge and leaves the selection as it was", async () => {
    await set("before");
    expectError(await failure(set(Buffer.alloc(CLIPBOARD_MAX_BYTES + 1))), "TooLarge", String(CLIPBOARD_MAX_BYTES));
    expect((await get()).toString()).toBe("before");
  });

  test("wrong argument types are refused by the contract", async () => {
    expectError(await failure(world.call("ClipboardSet", "ss", ["text", TEXT])), ErrorNames.InvalidArgs);
    expectError(await failure(world.call("ClipboardSet", "ays", [Buffer.from("bytes in the message"), TEXT])), ErrorNames.InvalidArgs);
    // An fd that is not a sealed memfd (here a pipe nobody writes to) is refused at once, never read from.
    const [readEnd, writeEnd] = makePipe();
    try {
      expectError(await failure(world.call("ClipboardSet", "hs", [readEnd, TEXT])), "InvalidArgs", "sealed");
    } finally {
      closeFd(readEnd);
      closeFd(writeEnd);
    }
    expectError(await failure(world.call("ClipboardGet", "u", [7])), ErrorNames.InvalidArgs);
    expect((await get()).toString()).toBe("before");
  });
});

// ---- /proc helpers: which pipes the compositor holds that a paster's processes hold too ----------------------

async function waitFor<T>(check: () => T[], what: string): Promise<T[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = check();
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

function pipesOf(pid: number): string[] {
  const pipes: string[] = [];
  for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(join(`/proc/${pid}/fd`, fd));
      if (target.startsWith("pipe:")) pipes.push(target);
    } catch {
      // closed while we looked
    }
  }
  return pipes;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** pid and every process below it. */
function descendants(root: number): Set<number> {
  return new Set([root, ...descendantsOf(root)]);
}

/** Pipes `pid` holds that one of `others` holds too. */
function sharedPipes(pid: number, others: Set<number>): string[] {
  const theirs = new Set([...others].flatMap((other) => pipesOf(other)));
  return pipesOf(pid).filter((pipe) => theirs.has(pipe));
}
