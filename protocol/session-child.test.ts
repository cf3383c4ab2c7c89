import { describe, expect, test } from "bun:test";
import { inheritedFdProblem, isUniqueBusName, parseSessionChildArgs, sessionChildArgv, usage, UsageError, type SessionChildProgram } from "./session-child.ts";

describe("a session child's command line", () => {
  test("what appd writes, each child reads back", () => {
    const runtime = { appId: "org.weft.demo.counter", sessionId: 7n, supervisor: ":1.42", packageFd: 3 };
    expect(parseSessionChildArgs("weft-runtime", sessionChildArgv(runtime))).toEqual(runtime as never);
    const appShell = { ...runtime, channelFd: 4 };
    expect(parseSessionChildArgs("weft-app-shell", sessionChildArgv(appShell))).toEqual(appShell as never);
    expect(parseSessionChildArgs("weft-runtime", sessionChildArgv(appShell)).channelFd).toBe(4);
  });

  test("options may come first or with =, and the largest session id is u64's", () => {
    expect(parseSessionChildArgs("weft-runtime", ["--supervisor", ":1.3", "--package-fd", "3", "a.b.c", "18446744073709551615"]).sessionId).toBe(18446744073709551615n);
    expect(parseSessionChildArgs("weft-app-shell", ["--supervisor=:1.9", "--package-fd=5", "--channel-fd=9", "org.weft.demo.counter", "1"]).channelFd).toBe(9);
  });

  const both: [string[], string][] = [
    [[], "missing <app_id>"],
    [["org.weft.demo.counter"], "missing <app_id> or <session_id>"],
    [["org.weft.demo.counter", "1"], "missing --supervisor"],
    [["../etc", "1", "--package-fd", "3", "--supervisor", ":1.2"], "not a valid app id"],
    [["Org.Weft.X", "1", "--package-fd", "3", "--supervisor", ":1.2"], "not a valid app id"],
    [["a".repeat(10_000), "1", "--package-fd", "3", "--supervisor", ":1.2"], "not a valid app id"],
    [["org.weft.demo.counter", "0", "--package-fd", "3", "--supervisor", ":1.2"], "session id"],
    [["org.weft.demo.counter", "-1", "--package-fd", "3", "--supervisor", ":1.2"], "Unknown option"],
    [["--package-fd", "3", "--supervisor", ":1.2", "--", "org.weft.demo.counter", "-1"], "session id"],
    [["org.weft.demo.counter", "007", "--package-fd", "3", "--supervisor", ":1.2"], "session id"],
    [["org.weft.demo.counter", "18446744073709551616", "--package-fd", "3", "--supervisor", ":1.2"], "session id"],
    [["org.weft.demo.counter", "1e3", "--package-fd", "3", "--supervisor", ":1.2"], "session id"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", "org.weft.AppD1"], "not a unique bus name"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2;rm"], "not a unique bus name"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "extra"], "unexpected argument"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--preopen", "/::/data"], "--preopen"],
    [["org.weft.demo.counter", "1", "--supervisor"], "argument missing"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "2"], "not a descriptor number from 3"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "-3"], "--channel-fd"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "3.5"], "not a descriptor number"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "0x3"], "not a descriptor number"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "3;x"], "not a descriptor number"],
    [["org.weft.demo.counter", "1", "--package-fd", "3", "--supervisor", ":1.2", "--channel-fd", "9".repeat(5000)], "not a descriptor number"],
    [["org.weft.demo.counter", "1", "--supervisor", ":1.2"], "missing --package-fd"],
    [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "1"], "--package-fd \"1\" is not a descriptor number from 3"],
    [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "/etc/passwd"], "--package-fd"],
    [["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "4", "--channel-fd", "4"], "name the same descriptor"],
  ];
  const cases: [SessionChildProgram, string[], string][] = [
    ...both.flatMap(([argv, fragment]): [SessionChildProgram, string[], string][] => [
      ["weft-runtime", argv, fragment],
      ["weft-app-shell", argv.includes("--channel-fd") || !argv.includes("--package-fd") ? argv : ["--channel-fd", "5", ...argv], fragment],
    ]),
    ["weft-app-shell", ["org.weft.demo.counter", "1", "--supervisor", ":1.2", "--package-fd", "3"], "missing --channel-fd"],
  ];

  test.each(cases)("%s %p is a usage error naming %p, with the program's usage, and never echoes a long argument whole", (program, argv, fragment) => {
    let error: unknown;
    try {
      parseSessionChildArgs(program, argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(fragment);
    expect((error as Error).message).toEndWith(usage(program));
    expect((error as Error).message.length).toBeLessThan(600);
  });

  test("unique bus names", () => {
    expect(isUniqueBusName(":1.42")).toBe(true);
    expect(isUniqueBusName(":a-b.c_d")).toBe(true);
    for (const bad of ["1.42", ":1", ":1..2", ":1.2 ", ":1.2\n", ":" + "a.".repeat(200) + "b"]) expect(isUniqueBusName(bad)).toBe(false);
  });

  test("--channel-fd and --package-fd numbers", () => {
    for (const ok of ["3", "4", "1048576"]) expect(inheritedFdProblem("channel-fd", ok)).toBeUndefined();
    for (const bad of ["0", "1", "2", "-3", "3.0", " 3", "3 ", "0x3", "1048577", "", "9".repeat(1000)]) {
      expect(inheritedFdProblem("channel-fd", bad)).toMatch(/^--channel-fd ".{0,32}" is not a descriptor number from 3 to 1048576$/);
      expect(inheritedFdProblem("package-fd", bad)).toMatch(/^--package-fd ".{0,32}" is not a descriptor number from 3 to 1048576$/);
    }
  });
});
