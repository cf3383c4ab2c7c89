import { describe, expect, test } from "bun:test";
import { createLogger } from "./log.ts";

describe("createLogger", () => {
  test("writes logfmt with the service, level and bound fields, quoting what needs it", () => {
    const lines: string[] = [];
    const log = createLogger("appd", { sink: (l) => lines.push(l), level: "debug", format: "logfmt" });
    log.with({ session: 3 }).info("session started", { app: "org.weft.demo.counter", note: "two words" });
    expect(lines).toEqual([
      'level=info svc=appd msg="session started" session=3 app=org.weft.demo.counter note="two words"',
    ]);
  });

  test("drops lines below the configured level", () => {
    const lines: string[] = [];
    const log = createLogger("appd", { sink: (l) => lines.push(l), level: "warn" });
    log.info("quiet");
    log.warn("loud");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("msg=loud");
  });

  test("json format keeps hostile text inside one line", () => {
    const lines: string[] = [];
    const log = createLogger("runtime", { sink: (l) => lines.push(l), format: "json" });
    log.error("guest wrote\nlevel=error msg=forged", { error: new Error("boom\nline") });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: "error",
      svc: "runtime",
      msg: "guest wrote\nlevel=error msg=forged",
      error: "boom\nline",
    });
  });

  test("logfmt escapes newlines so a message cannot forge a second line", () => {
    const lines: string[] = [];
    createLogger("runtime", { sink: (l) => lines.push(l) }).warn("a\nlevel=error msg=forged");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('level=warn svc=runtime msg="a\\nlevel=error msg=forged"');
  });
});
