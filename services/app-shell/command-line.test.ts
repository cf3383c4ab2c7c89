import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { closeFd, makeSocketPair } from "../common/bus/libc.ts";

const MAIN = join(import.meta.dir, "main.ts");

/** The grammar itself is protocol/session-child.test.ts's; here, what the program does with a command line. */
describe("weft-app-shell with its command line", () => {
  test("the program exits 2 with the usage on a bad command line, before touching the bus", async () => {
    for (const argv of [[], ["../x", "1", "--supervisor", ":1.2", "--package-fd", "3", "--channel-fd", "4"], ["org.weft.demo.counter", "1", "--supervisor", "nobody", "--package-fd", "3", "--channel-fd", "4"]]) {
      const child = Bun.spawn([process.execPath, MAIN, ...argv], { env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent" }, stderr: "pipe", stdout: "ignore" });
      const stderr = await new Response(child.stderr).text();
      expect(await child.exited).toBe(2);
      expect(stderr).toContain("usage: weft-app-shell <app_id> <session_id> --supervisor <unique bus name> --package-fd <n> --channel-fd <n>");
    }
  });

  test("with a valid command line but no bus, it exits 3 saying why", async () => {
    const [channel, other] = makeSocketPair();
    const child = Bun.spawn([process.execPath, MAIN, "org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "3", "--channel-fd", "4"], {
      env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
      stdio: ["ignore", "ignore", "pipe", Bun.file("/dev/null"), channel],
    });
    closeFd(channel);
    const stderr = await new Response(child.stderr as ReadableStream).text();
    expect(await child.exited).toBe(3);
    expect(stderr).toContain("cannot connect to the bus");
    closeFd(other);
  });

  test("a --channel-fd that is not an open socket is named, before anything else is done", async () => {
    for (const fd of ["4", "77"]) {
      const child = Bun.spawn([process.execPath, MAIN, "org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "3", "--channel-fd", fd], {
        env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
        stdio: ["ignore", "ignore", "pipe", Bun.file("/dev/null"), Bun.file("/dev/null")],
      });
      const stderr = await new Response(child.stderr as ReadableStream).text();
      expect(await child.exited).toBe(3);
      expect(stderr).toContain(`--channel-fd ${fd} is not an open socket`);
    }
  });
});
