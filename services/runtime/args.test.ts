import { describe, expect, test } from "bun:test";
import { isUniqueBusName, parseRuntimeArgs, UsageError } from "./args.ts";

describe("weft-runtime arguments", () => {
  test("the three things the runtime takes from its command line", () => {
    expect(parseRuntimeArgs(["org.weft.demo.counter", "7", "--supervisor", ":1.42"])).toEqual({
      appId: "org.weft.demo.counter",
      sessionId: 7n,
      supervisor: ":1.42",
    });
    expect(parseRuntimeArgs(["--supervisor", ":1.3", "a.b.c", "18446744073709551615"]).sessionId).toBe(18446744073709551615n);
    expect(parseRuntimeArgs(["a.b.c", "1", "--supervisor", ":1.3", "--channel-fd", "3"]).channelFd).toBe(3);
  });

  test.each([
    [[], "missing <app_id>"],
    [["org.weft.demo.counter"], "missing <app_id> or <session_id>"],
    [["../../etc", "1", "--supervisor", ":1.1"], "not a valid app id"],
    [["Org.Weft.App", "1", "--supervisor", ":1.1"], "not a valid app id"],
    [["a.b.c", "0", "--supervisor", ":1.1"], "session id"],
    [["a.b.c", "-1", "--supervisor", ":1.1"], "-1"],
    [["a.b.c", "007", "--supervisor", ":1.1"], "session id"],
    [["a.b.c", "1e3", "--supervisor", ":1.1"], "session id"],
    [["a.b.c", "18446744073709551616", "--supervisor", ":1.1"], "session id"],
    [["a.b.c", "1"], "missing --supervisor"],
    [["a.b.c", "1", "--supervisor", "org.weft.AppD1"], "not a unique bus name"],
    [["a.b.c", "1", "--supervisor", ":1.1", "extra"], "unexpected argument"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--preopen", "/::/data"], "--preopen"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", "2"], "not a descriptor number from 3"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", "-3"], "--channel-fd"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", "3.5"], "not a descriptor number"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", "99999999"], "not a descriptor number"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", "0x3"], "not a descriptor number"],
    [["a.b.c", "1", "--supervisor", ":1.1", "--channel-fd", ""], "not a descriptor number"],
  ])("%p is refused: %s", (argv, fragment) => {
    expect(() => parseRuntimeArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseRuntimeArgs(argv as string[])).toThrow(fragment);
  });

  test("unique bus names", () => {
    expect(isUniqueBusName(":1.42")).toBe(true);
    expect(isUniqueBusName(":a-b.c_d")).toBe(true);
    for (const bad of ["1.42", ":1", ":1..2", ":1.2 ", ":1.2\n", ":" + "a.".repeat(200) + "b"]) expect(isUniqueBusName(bad)).toBe(false);
  });
});
