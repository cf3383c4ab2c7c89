import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { closeFd, makeSocketPair } from "../common/bus/libc.ts";
import { parseAppShellArgs, UsageError } from "./args.ts";

const MAIN = join(import.meta.dir, "main.ts");

describe("weft-app-shell arguments", () => {
  test("a valid command line", () => {
    expect(parseAppShellArgs(["org.weft.demo.counter", "7", "--supervisor", ":1.42", "--channel-fd", "3"])).toEqual({
      appId: "org.weft.demo.counter",
      sessionId: 7n,
      supervisor: ":1.42",
      channelFd: 3,
    });
    expect(parseAppShellArgs(["--supervisor=:1.9", "--channel-fd=9", "org.weft.demo.counter", "18446744073709551615"]).sessionId).toBe(18446744073709551615n);
  });

  test("hostile command lines are usage errors that say what is wrong", () => {
    const cases: [string[], string][] = [
      [[], "missing <app_id>"],
      [["org.weft.demo.counter"], "missing <app_id> or <session_id>"],
      [["org.weft.demo.counter", "1"], "missing --supervisor"],
      [["../etc", "1", "--supervisor", ":1.2"], "not a valid app id"],
      [["Org.Weft.X", "1", "--supervisor", ":1.2"], "not a valid app id"],
      [["a".repeat(10_000), "1", "--supervisor", ":1.2"], "not a valid app id"],
      [["org.weft.demo.counter", "0", "--supervisor", ":1.2"], "session id"],
      [["org.weft.demo.counter", "-1", "--supervisor", ":1.2"], "Unknown option"],
      [["--supervisor", ":1.2", "--", "org.weft.demo.counter", "-1"], "session id"],
      [["org.weft.demo.counter", "01", "--supervisor", ":1.2"], "session id"],
      [["org.weft.demo.counter", "18446744073709551616", "--supervisor", ":1.2"], "session id"],
      [["org.weft.demo.counter", "1e3", "--supervisor", ":1.2"], "session id"],
      [["org.weft.demo.counter", "1", "--supervisor", "org.weft.AppD1"], "not a unique bus name"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2;rm"], "not a unique bus name"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "extra"], "unexpected argument"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--inspect"], "Unknown option"],
      [["org.weft.demo.counter", "1", "--supervisor"], "argument missing"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2"], "missing --channel-fd"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--channel-fd", "1"], "not a descriptor number from 3"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--channel-fd", "3;x"], "not a descriptor number"],
      [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--channel-fd", "9".repeat(5000)], "not a descriptor number"],
    ];
    for (const [argv, fragment] of cases) {
      let error: unknown;
      try {
        parseAppShellArgs(argv);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain(fragment);
      expect((error as Error).message.length).toBeLessThan(600); // a 10 000-character id is not echoed whole
    }
  });

  test("the program exits 2 with the usage on a bad command line, before touching the bus", async () => {
    for (const argv of [[], ["../x", "1", "--supervisor", ":1.2", "--channel-fd", "3"], ["org.weft.demo.counter", "1", "--supervisor", "nobody", "--channel-fd", "3"]]) {
      const child = Bun.spawn([process.execPath, MAIN, ...argv], { env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent" }, stderr: "pipe", stdout: "ignore" });
      const stderr = await new Response(child.stderr).text();
      expect(await child.exited).toBe(2);
      expect(stderr).toContain("usage: weft-app-shell <app_id> <session_id> --supervisor <unique bus name> --channel-fd <n>");
    }
  });

  test("with a valid command line but no bus, it exits 3 saying why", async () => {
    const [channel, other] = makeSocketPair();
    const child = Bun.spawn([process.execPath, MAIN, "org.weft.demo.counter", "1", "--supervisor", ":1.2", "--channel-fd", "3"], {
      env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
      stdio: ["ignore", "ignore", "pipe", channel],
    });
    closeFd(channel);
    const stderr = await new Response(child.stderr as ReadableStream).text();
    expect(await child.exited).toBe(3);
    expect(stderr).toContain("cannot connect to the bus");
    closeFd(other);
  });

  test("a --channel-fd that is not an open socket is named, before anything else is done", async () => {
    for (const fd of ["3", "77"]) {
      const child = Bun.spawn([process.execPath, MAIN, "org.weft.demo.counter", "1", "--supervisor", ":1.2", "--channel-fd", fd], {
        env: { PATH: process.env.PATH ?? "/usr/bin", WEFT_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
        stdio: ["ignore", "ignore", "pipe", Bun.file("/dev/null")],
      });
      const stderr = await new Response(child.stderr as ReadableStream).text();
      expect(await child.exited).toBe(3);
      expect(stderr).toContain(`--channel-fd ${fd} is not an open socket`);
    }
  });
});
