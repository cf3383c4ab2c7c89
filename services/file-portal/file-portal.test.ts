/**
 * weft-file-portal on a private dbus-daemon, with real files in temp dirs. The test plays appd (a connection
 * owning org.weft.AppD1) and session 7's runtime (a connection owning org.weft.Runtime1.S7); other
 * connections play strangers and another session's runtime.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus, contractPath, isBusError, type BusConnection } from "../common/bus/index.ts";
import { busctl, expectIntrospectionMatchesContract, startPrivateBus, type PrivateBus } from "../../testing/bus.ts";
import { createLogger } from "../common/daemon/log.ts";
import { closeFd, makePipe } from "../common/bus/libc.ts";
import { memfdCreate } from "../common/os/libc.ts";
import { takeSealedContent, withSealedContent } from "../common/os/sealed-content.ts";
import type { PortalError } from "./errors.ts";
import { GrantTable } from "./grants.ts";
import { exportFilePortal } from "./interface.ts";
import { NameOwners } from "./owners.ts";
import { FilePortal, MAX_FILE_BYTES } from "./portal.ts";
import { AppD, FilePortal as FilePortalEndpoint, FilePortal1, Runtime } from "../../protocol/dbus/index.ts";

const MAX_TEST_FILE = 64 * 1024;
const ERROR = (name: string) => `${FilePortal1.name}.Error.${name}`;

let bus: PrivateBus;
let portalBus: BusConnection;
let owners: NameOwners;
let grants: GrantTable;
let portal: FilePortal;
let appd: BusConnection;
let runtime: BusConnection;
let otherRuntime: BusConnection;
let stranger: BusConnection;
const portalLog: string[] = [];

let dir: string;
let documents: string;

async function connect(name?: string): Promise<BusConnection> {
  const connection = await connectBus({ address: bus.address });
  if (name !== undefined) await connection.requestName(name);
  return connection;
}

function call(from: BusConnection, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
  return from.call({ destination: FilePortalEndpoint.busName, path: FilePortalEndpoint.path, interface: FilePortal1.name, member, signature, body });
}

const registerGrants = (from: BusConnection, session: bigint, roots: [string, string, boolean][]) =>
  call(from, "RegisterGrants", "ta(ssb)", [session, roots]);
const revokeGrants = (from: BusConnection, session: bigint) => call(from, "RevokeGrants", "t", [session]);
/** Read's content, taken out of the sealed memfd it comes in. */
async function read(from: BusConnection, session: bigint, path: string): Promise<Buffer> {
  const [fd] = (await call(from, "Read", "ts", [session, path])) as [number];
  return Buffer.from(takeSealedContent(fd, 1 << 30));
}

/** Write, with the content in a sealed memfd as the runtime sends it. */
const write = (from: BusConnection, session: bigint, path: string, data: string | Buffer) =>
  withSealedContent("test-write", Buffer.from(data), (fd) => call(from, "Write", "tsh", [session, path, fd]));
const list = async (from: BusConnection, session: bigint, path: string) => (await call(from, "List", "ts", [session, path]))[0];
const stat = async (from: BusConnection, session: bigint, path: string) => (await call(from, "Stat", "ts", [session, path]))[0];
const remove = (from: BusConnection, session: bigint, path: string) => call(from, "Remove", "ts", [session, path]);
const mkdir = (from: BusConnection, session: bigint, path: string) => call(from, "Mkdir", "ts", [session, path]);

/** The D-Bus error name a call failed with. */
async function failure(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
  } catch (error) {
    if (isBusError(error)) return error.type;
    throw error;
  }
  throw new Error("the call succeeded");
}

async function failureMessage(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
  } catch (error) {
    if (isBusError(error)) return `${error.type}: ${error.message}`;
    throw error;
  }
  throw new Error("the call succeeded");
}

beforeAll(async () => {
  // Monitoring allowed, as on a user's own bus, so a test can show what a monitor does (not) see.
  bus = await startPrivateBus({ monitoring: "allowed" });
  portalBus = await connect();
  owners = await NameOwners.watch(portalBus);
  grants = new GrantTable();
  portal = new FilePortal(grants, owners, createLogger("file-portal", { sink: (line) => portalLog.push(line) }), {
    maxFileBytes: MAX_TEST_FILE,
    maxListEntries: 1000,
  });
  exportFilePortal(portalBus, portal);
  await portalBus.requestName(FilePortalEndpoint.busName);
  appd = await connect(AppD.busName);
  runtime = await connect(Runtime.busName(7));
  otherRuntime = await connect(Runtime.busName(8));
  stranger = await connect();
});

afterAll(async () => {
  for (const connection of [stranger, otherRuntime, runtime, appd]) connection.close();
  await owners.close();
  grants.close();
  portalBus.close();
  await bus.close();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "weft-portal-"));
  documents = join(dir, "Documents");
  mkdirSync(join(documents, "notes"), { recursive: true });
  writeFileSync(join(documents, "notes/todo.txt"), "buy milk");
  writeFileSync(join(dir, "secret"), "outside the root");
  await registerGrants(appd, 7n, [["xdg-documents", documents, true]]);
  portalLog.length = 0;
});

afterEach(async () => {
  await revokeGrants(appd, 7n);
  rmSync(dir, { recursive: true, force: true });
});

describe("the contract", () => {
  test("matches what busctl introspect shows", async () => {
    await expectIntrospectionMatchesContract({
      address: bus.address,
      destination: FilePortalEndpoint.busName,
      path: FilePortalEndpoint.path,
      contract: contractPath(FilePortal1.name),
    });
  });

  test("busctl, which is not session 7's runtime, is refused whatever session id it passes", async () => {
    const result = await busctl(bus.address, ["call", FilePortalEndpoint.busName, FilePortalEndpoint.path, FilePortal1.name, "Read", "ts", "7", "/xdg/documents/notes/todo.txt"]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("only session 7's runtime");
  });
});

describe("who may call what", () => {
  test("only the owner of org.weft.AppD1 may register or revoke grants", async () => {
    for (const caller of [runtime, otherRuntime, stranger]) {
      expect(await failure(registerGrants(caller, 7n, [["xdg-documents", "/", true]]))).toBe(ERROR("AccessDenied"));
      expect(await failure(registerGrants(caller, 9n, [["xdg-documents", "/", true]]))).toBe(ERROR("AccessDenied"));
      expect(await failure(revokeGrants(caller, 7n))).toBe(ERROR("AccessDenied"));
    }
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    expect(portalLog.some((l) => l.includes("msg=denied") && l.includes("op=register-grants") && l.includes("error=AccessDenied"))).toBe(true);
  });

  test("only session 7's runtime may use session 7's grants", async () => {
    for (const caller of [stranger, otherRuntime, appd]) {
      expect(await failure(read(caller, 7n, "/xdg/documents/notes/todo.txt"))).toBe(ERROR("AccessDenied"));
      expect(await failure(write(caller, 7n, "/xdg/documents/notes/todo.txt", "pwned"))).toBe(ERROR("AccessDenied"));
      expect(await failure(list(caller, 7n, "/xdg/documents"))).toBe(ERROR("AccessDenied"));
    }
    // Session 8's runtime with its own session id: it has no grants.
    expect(await failure(read(otherRuntime, 8n, "/xdg/documents/notes/todo.txt"))).toBe(ERROR("NotGranted"));
    expect(readFileSync(join(documents, "notes/todo.txt"), "utf8")).toBe("buy milk");
  });

  test("whoever owns org.weft.Runtime1.S7 now is session 7's runtime (the cache follows the bus)", async () => {
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    await runtime.releaseName(Runtime.busName(7));
    const successor = await connect(Runtime.busName(7));
    try {
      expect(await failure(read(runtime, 7n, "/xdg/documents/notes/todo.txt"))).toBe(ERROR("AccessDenied"));
      expect((await read(successor, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    } finally {
      successor.close();
      for (let i = 0; i < 100; i++) {
        try {
          await runtime.requestName(Runtime.busName(7));
          break;
        } catch {
          await Bun.sleep(10); // the successor's name is released when the bus notices it left
        }
      }
    }
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
  });

  test("when appd leaves the bus every grant is dropped", async () => {
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    appd.close();
    await waitFor(async () => (await failure(read(runtime, 7n, "/xdg/documents/notes/todo.txt"))) === ERROR("NotGranted"));
    expect(portalLog.some((l) => l.includes("appd left the bus"))).toBe(true);
    appd = await connect(AppD.busName);
    await registerGrants(appd, 7n, [["xdg-documents", documents, true]]);
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition().catch(() => false)) return;
    await Bun.sleep(10);
  }
  throw new Error("condition not met within 2 s");
}

describe("operations", () => {
  test("read, write, list, stat, mkdir, remove", async () => {
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    await mkdir(runtime, 7n, "/xdg/documents/drafts");
    await write(runtime, 7n, "/xdg/documents/drafts/letter.txt", "Dear …");
    expect(readFileSync(join(documents, "drafts/letter.txt"), "utf8")).toBe("Dear …");
    expect(await list(runtime, 7n, "/xdg/documents")).toEqual([
      ["drafts", "directory", 0n],
      ["notes", "directory", 0n],
    ]);
    expect(await list(runtime, 7n, "/xdg/documents/drafts")).toEqual([["letter.txt", "file", BigInt(Buffer.byteLength("Dear …"))]]);
    const [type, size, modified] = (await stat(runtime, 7n, "/xdg/documents/notes/todo.txt")) as [string, bigint, bigint];
    expect([type, size]).toEqual(["file", 8n]);
    expect(Number(modified)).toBeGreaterThan(Date.now() - 60_000);
    expect(await failure(remove(runtime, 7n, "/xdg/documents/drafts"))).toBe(ERROR("NotEmpty"));
    await remove(runtime, 7n, "/xdg/documents/drafts/letter.txt");
    await remove(runtime, 7n, "/xdg/documents/drafts");
    expect(existsSync(join(documents, "drafts"))).toBe(false);
    expect(await failure(read(runtime, 7n, "/xdg/documents/drafts/letter.txt"))).toBe(ERROR("NotFound"));
    expect(await failure(mkdir(runtime, 7n, "/xdg/documents/notes"))).toBe(ERROR("Exists"));
  });

  test("binary content round-trips unchanged, an empty file too", async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
    await write(runtime, 7n, "/xdg/documents/blob.bin", bytes);
    expect(Buffer.compare(await read(runtime, 7n, "/xdg/documents/blob.bin"), bytes)).toBe(0);
    await write(runtime, 7n, "/xdg/documents/empty", Buffer.alloc(0));
    expect((await read(runtime, 7n, "/xdg/documents/empty")).length).toBe(0);
  });

  test("write is atomic: the old content is replaced wholly and no temporary file stays", async () => {
    writeFileSync(join(documents, "notes/todo.txt"), "a long old content that is longer than the new one");
    await write(runtime, 7n, "/xdg/documents/notes/todo.txt", "short");
    expect(readFileSync(join(documents, "notes/todo.txt"), "utf8")).toBe("short");
    expect(readdirSync(join(documents, "notes"))).toEqual(["todo.txt"]);
    // A failed write (parent missing) leaves nothing either.
    expect(await failure(write(runtime, 7n, "/xdg/documents/missing/x", "x"))).toBe(ERROR("NotFound"));
    expect(readdirSync(documents).sort()).toEqual(["notes"]);
  });

  test("a read-only grant reads and lists but refuses write, remove and mkdir", async () => {
    await registerGrants(appd, 7n, [["xdg-documents", documents, false]]);
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    expect(await failure(write(runtime, 7n, "/xdg/documents/notes/todo.txt", "x"))).toBe(ERROR("ReadOnly"));
    expect(await failure(write(runtime, 7n, "/xdg/documents/new.txt", "x"))).toBe(ERROR("ReadOnly"));
    expect(await failure(remove(runtime, 7n, "/xdg/documents/notes/todo.txt"))).toBe(ERROR("ReadOnly"));
    expect(await failure(mkdir(runtime, 7n, "/xdg/documents/d"))).toBe(ERROR("ReadOnly"));
    expect(readdirSync(documents)).toEqual(["notes"]);
    expect(readFileSync(join(documents, "notes/todo.txt"), "utf8")).toBe("buy milk");
  });

  test("revoked grants fail at the next access", async () => {
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    await revokeGrants(appd, 7n);
    expect(await failure(read(runtime, 7n, "/xdg/documents/notes/todo.txt"))).toBe(ERROR("NotGranted"));
    expect(await failure(write(runtime, 7n, "/xdg/documents/x", "x"))).toBe(ERROR("NotGranted"));
    expect(await failure(list(runtime, 7n, "/xdg/documents"))).toBe(ERROR("NotGranted"));
  });

  test("a write above the limit is TooLarge and writes nothing; so is a read of a larger file", async () => {
    expect(await failure(write(runtime, 7n, "/xdg/documents/big", Buffer.alloc(MAX_TEST_FILE + 1)))).toBe(ERROR("TooLarge"));
    expect(existsSync(join(documents, "big"))).toBe(false);
    await write(runtime, 7n, "/xdg/documents/big", Buffer.alloc(MAX_TEST_FILE, 1));
    writeFileSync(join(documents, "bigger"), Buffer.alloc(MAX_TEST_FILE + 1));
    expect(await failureMessage(read(runtime, 7n, "/xdg/documents/bigger"))).toBe(
      `${ERROR("TooLarge")}: /xdg/documents/bigger: ${MAX_TEST_FILE + 1} bytes is more than the portal's limit of ${MAX_TEST_FILE} bytes`,
    );
  });

  test("Write's content must be a sealed memfd: a pipe, an unsealed memfd or a file is InvalidArgs, and nothing is written", async () => {
    const [readEnd, writeEnd] = makePipe();
    const unsealed = memfdCreate("unsealed");
    const file = openSync(join(dir, "secret"), "r");
    try {
      for (const fd of [readEnd, unsealed, file]) {
        const message = await failureMessage(call(runtime, "Write", "tsh", [7n, "/xdg/documents/new.txt", fd]));
        expect(message).toStartWith(`${ERROR("InvalidArgs")}: Write of "/xdg/documents/new.txt": the content must come as a memfd sealed`);
      }
      expect(existsSync(join(documents, "new.txt"))).toBe(false);
    } finally {
      for (const fd of [readEnd, writeEnd, unsealed, file]) closeFd(fd);
    }
  });

  test("file contents never travel in a bus message: a monitor of the bus sees fds, not the bytes", async () => {
    const monitor = Bun.spawn(["stdbuf", "-oL", "busctl", `--address=${bus.address}`, "monitor", "--json=short"], { stdout: "pipe", stderr: "pipe" });
    const seen = new Response(monitor.stdout).text();
    await Bun.sleep(500);
    await write(runtime, 7n, "/xdg/documents/diary.txt", "weft-secret-diary-entry");
    expect((await read(runtime, 7n, "/xdg/documents/diary.txt")).toString()).toBe("weft-secret-diary-entry");
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    await Bun.sleep(300);
    monitor.kill("SIGTERM");
    const watched = await seen;
    expect(watched).toContain('"member":"Write"'); // the monitor did see the calls
    expect(watched).toContain('"member":"Read"');
    // Neither as text nor as the byte array an `ay` argument would show (JSON numbers).
    for (const secret of ["weft-secret-diary-entry", "buy milk"]) {
      expect(watched).not.toContain(secret);
      expect(watched.replace(/\s/g, "")).not.toContain([...Buffer.from(secret)].join(","));
    }
  });

  test("every access and every refusal is logged with session, op and path", async () => {
    await read(runtime, 7n, "/xdg/documents/notes/todo.txt");
    await failure(read(stranger, 7n, "/xdg/documents/notes/todo.txt"));
    await failure(read(runtime, 7n, "/xdg/documents/../x"));
    expect(portalLog[0]).toMatch(/msg=access session=7 op=read path=\/xdg\/documents\/notes\/todo.txt .*root=xdg-documents bytes=8/);
    expect(portalLog[1]).toMatch(/level=warn .*msg=denied session=7 op=read path=\/xdg\/documents\/notes\/todo.txt .*error=AccessDenied/);
    expect(portalLog[2]).toMatch(/msg=denied session=7 op=read path=\/xdg\/documents\/..\/x .*error=InvalidPath/);
  });
});

describe("hostile paths (SPEC 9 item 16: the reference checked paths lexically and followed any symlink)", () => {
  const hostile: [string, string, () => void][] = [
    ["../ at the start", "/../etc/passwd", () => {}],
    ["climbing out with ..", "/xdg/documents/../../etc/passwd", () => {}],
    ["a relative path", "xdg/documents/notes/todo.txt", () => {}],
    ["an unknown root prefix", "/etc/passwd", () => {}],
    ["a prefix of the root", "/xdg", () => {}],
    ["an overlong path", `/xdg/documents/${"a/".repeat(3000)}x`, () => {}],
    ["an overlong segment", `/xdg/documents/${"a".repeat(300)}`, () => {}],
    ["an absolute symlink inside the root", "/xdg/documents/abs", () => symlinkSync(join(dir, "secret"), join(documents, "abs"))],
    ["a symlink to /etc, then further", "/xdg/documents/etc/passwd", () => symlinkSync("/etc", join(documents, "etc"))],
    ["a relative symlink escaping", "/xdg/documents/notes/up", () => symlinkSync("../../secret", join(documents, "notes/up"))],
    ["a symlink to the parent", "/xdg/documents/parent/secret", () => symlinkSync("..", join(documents, "parent"))],
    ["a symlink loop", "/xdg/documents/loop-a", () => {
      symlinkSync("loop-b", join(documents, "loop-a"));
      symlinkSync("loop-a", join(documents, "loop-b"));
    }],
    ["a /proc/self/root link", "/xdg/documents/proc/etc/passwd", () => symlinkSync("/proc/self/root", join(documents, "proc"))],
  ];

  for (const [what, path, setUp] of hostile) {
    test(`${what}: refused, nothing outside read or written`, async () => {
      setUp();
      const expected = [ERROR("InvalidPath"), ERROR("AccessDenied"), ERROR("NotGranted")];
      expect(expected).toContain(await failure(read(runtime, 7n, path)));
      expect(expected).toContain(await failure(stat(runtime, 7n, path)));
      expect(expected).toContain(await failure(list(runtime, 7n, path)));
      expect(expected).toContain(await failure(mkdir(runtime, 7n, `${path}/sub`)));
      // Write never follows a final symlink: it refuses to replace one (WrongType).
      expect([...expected, ERROR("WrongType")]).toContain(await failure(write(runtime, 7n, path, "pwned")));
      // Remove of a final symlink removes the link, never its target.
      const removed = await remove(runtime, 7n, path).then(() => "removed", (error) => error.type as string);
      expect([...expected, "removed"]).toContain(removed);
      expect(readFileSync(join(dir, "secret"), "utf8")).toBe("outside the root");
      expect(readdirSync(dir).sort()).toEqual(["Documents", "secret"]);
    });
  }

  test("the errors say why", async () => {
    symlinkSync(join(dir, "secret"), join(documents, "abs"));
    expect(await failureMessage(read(runtime, 7n, "/xdg/documents/../../etc/passwd"))).toBe(
      `${ERROR("InvalidPath")}: path "/xdg/documents/../../etc/passwd" has a ".." segment: write the path without it`,
    );
    expect(await failureMessage(read(runtime, 7n, "/xdg/documents/abs"))).toBe(
      `${ERROR("AccessDenied")}: /xdg/documents/abs leads outside /xdg/documents (through an absolute symlink or one pointing out of it): refused`,
    );
    expect(await failureMessage(read(runtime, 7n, "/etc/passwd"))).toBe(
      `${ERROR("NotGranted")}: /etc/passwd is not under a root granted to session 7 (granted: /xdg/documents)`,
    );
  });

  test("a NUL in the path: D-Bus strings cannot carry one, and the portal refuses one anyway", async () => {
    const outcome = await read(runtime, 7n, "/xdg/documents/notes/todo.txt\0/../../secret").then(
      () => "served",
      (error) => (error as Error).message,
    );
    expect(outcome).toContain("null byte");
    const refused = await portal.read(runtime.uniqueName, 7n, "/xdg/documents/notes/todo.txt\0/../../secret").then(
      () => "served",
      (error) => `${(error as PortalError).errorName}: ${(error as PortalError).message}`,
    );
    expect(refused).toBe('InvalidPath: path "/xdg/documents/notes/todo.txt\\u0000/../../secret" contains a NUL character');
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
  });

  test("a root replaced by a symlink after registration does not redirect: the held directory counts", async () => {
    renameSync(documents, join(dir, "Moved"));
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), documents);
    expect((await read(runtime, 7n, "/xdg/documents/notes/todo.txt")).toString()).toBe("buy milk");
    await write(runtime, 7n, "/xdg/documents/notes/after.txt", "still the granted folder");
    expect(readFileSync(join(dir, "Moved/notes/after.txt"), "utf8")).toBe("still the granted folder");
    expect(readdirSync(join(dir, "elsewhere"))).toEqual([]);
  });
});

describe("bun services/file-portal/main.ts", () => {
  test("owns org.weft.FilePortal1, serves its contract and limit, and stops cleanly on SIGTERM", async () => {
    const privateBus = await startPrivateBus();
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts")], {
      env: { ...process.env, WEFT_BUS_ADDRESS: privateBus.address },
      stdout: "ignore",
      stderr: "pipe",
    });
    const stderr = new Response(child.stderr).text();
    try {
      const client = await connectBus({ address: privateBus.address });
      try {
        await waitFor(async () => {
          const [owned] = await client.call({
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "NameHasOwner", signature: "s", body: [FilePortalEndpoint.busName],
          });
          return owned === true;
        });
        await expectIntrospectionMatchesContract({
          address: privateBus.address, destination: FilePortalEndpoint.busName, path: FilePortalEndpoint.path, contract: contractPath(FilePortal1.name),
        });
        const [size] = await client.call({
          destination: FilePortalEndpoint.busName, path: FilePortalEndpoint.path, interface: "org.freedesktop.DBus.Properties",
          member: "Get", signature: "ss", body: [FilePortal1.name, "MaxFileSize"],
        });
        expect((size as { value: bigint }).value).toBe(BigInt(MAX_FILE_BYTES));
        expect(await failure(client.call({
          destination: FilePortalEndpoint.busName, path: FilePortalEndpoint.path, interface: FilePortal1.name,
          member: "RegisterGrants", signature: "ta(ssb)", body: [1n, [["xdg-documents", "/", true]]],
        }))).toBe(ERROR("AccessDenied"));
      } finally {
        client.close();
      }
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      const log = await stderr;
      expect(log).toContain("msg=ready");
      expect(log).toContain("msg=stopping signal=SIGTERM");
    } finally {
      child.kill("SIGKILL");
      await privateBus.close();
    }
  });

  test("refuses arguments (usage, exit 2)", async () => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts"), "--allow", "/"], { stdout: "ignore", stderr: "pipe" });
    expect(await child.exited).toBe(2);
    expect(await new Response(child.stderr).text()).toContain("usage: weft-file-portal");
  });
});
