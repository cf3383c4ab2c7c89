/**
 * appd and the file portal: a session whose app declares fs:rw:xdg-documents gets its Documents root registered
 * before its runtime starts, reaches it from the guest, and loses it the moment the session stops.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Variant } from "dbus-next";
import { buildApps } from "../../apps/build.ts";
import { connectBus, contractPath, isBusError } from "../common/bus/index.ts";
import { until } from "../../testing/runtime.ts";
import { AppdWorld, type AppdProcess } from "../../testing/appd.ts";
import { errorName, FilePortal, FilePortal1, Runtime, Runtime1 } from "../../protocol/dbus/index.ts";

const FILER = "org.weft.test.filer";
let world: AppdWorld;
let appd: AppdProcess;
let portal: ReturnType<typeof Bun.spawn>;

beforeAll(async () => {
  world = new AppdWorld();
  await world.start();
  mkdirSync(join(world.home, "Documents"));
  const appsDir = join(world.root, "filer-src");
  cpSync(join(import.meta.dir, "../runtime/fixtures/apps", FILER), join(appsDir, FILER), { recursive: true });
  const [built] = await buildApps({ appsDir, distDir: join(world.root, "filer-dist"), keyFile: world.testKey.secretFile, log: () => {} });
  await world.install(built!.packageDir);
  portal = Bun.spawn([process.execPath, join(import.meta.dir, "../file-portal/main.ts")], { env: world.env, stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 20_000;
  while (!(await world.supervisor.nameHasOwner(FilePortal.busName))) {
    if (Date.now() > deadline) throw new Error("the file portal did not come up");
    await Bun.sleep(50);
  }
  appd = await world.startAppd();
}, 120_000);
afterAll(async () => {
  await appd?.stop();
  portal?.kill();
  await portal?.exited;
  await world.close();
});


test("the session's guest writes to Documents through the portal; after Terminate its root is revoked", async () => {
  const [sessionId] = await appd.client.callWith({ timeoutMs: 60_000 }, "Launch", FILER, { headless: new Variant("b", true) });
  const runtime = world.supervisor.client(contractPath(Runtime1.name), Runtime.busName(sessionId), { path: Runtime.path });
  const replies: string[] = [];
  await runtime.on("Message", (payload) => replies.push(payload as string));
  await runtime.call("Post", "write /xdg/documents/from-app.txt written through appd's grant");
  await until(() => replies.length === 1, "the write reply");
  expect(JSON.parse(replies[0]!)).toEqual({ ok: "written" });
  expect(readFileSync(join(world.home, "Documents/from-app.txt"), "utf8")).toBe("written through appd's grant");

  await appd.client.callWith({ timeoutMs: 60_000 }, "Terminate", sessionId);
  // Whoever owns the session's runtime name now finds no grant left.
  const impostor = await connectBus({ address: world.bus.address });
  try {
    await impostor.requestName(Runtime.busName(sessionId));
    let refusal: unknown;
    try {
      await impostor.call({ destination: FilePortal.busName, path: "/org/weft/FilePortal1", interface: FilePortal1.name, member: "Read", signature: "ts", body: [sessionId, "/xdg/documents/from-app.txt"] });
    } catch (error) {
      refusal = error;
    }
    expect(isBusError(refusal, errorName(FilePortal1, "NotGranted"))).toBe(true);
  } finally {
    await impostor.close();
  }
}, 120_000);
