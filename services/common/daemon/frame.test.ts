import { describe, expect, test } from "bun:test";
import { EXIT, runService, StartError, startStep, UsageError } from "./frame.ts";

/** Runs `script` (a module body using runService) as its own process; resolves with its exit code and stderr. */
async function program(script: string, argv: string[] = [], sendSignalAfterMs?: number): Promise<{ code: number; stderr: string }> {
  const source = `import { EXIT, runService, serveUntilStopped, StartError, startStep } from ${JSON.stringify(`${import.meta.dir}/frame.ts`)};\n${script}`;
  const child = Bun.spawn([process.execPath, "-e", source, "--", ...argv], { stderr: "pipe", stdout: "ignore", env: { ...process.env, WEFT_LOG_FORMAT: "json" } });
  if (sendSignalAfterMs !== undefined) setTimeout(() => child.kill("SIGTERM"), sendSignalAfterMs);
  const stderr = await new Response(child.stderr).text();
  return { code: await child.exited, stderr };
}

describe("the service frame", () => {
  test("a daemon that takes no arguments refuses any with exit 2 and its usage, before it starts", async () => {
    let started = false;
    const code = await runService({ program: "weft-x", service: "x", run: async () => ((started = true), 0) }, ["--oops"]);
    expect(code).toBe(EXIT.usage);
    expect(started).toBe(false);
  });

  test("a parser's UsageError is exit 2; a start step's failure is exit 3 naming the step; anything else 70", async () => {
    const parseArgs = () => {
      throw new UsageError("missing <thing>\nusage: weft-x <thing>");
    };
    expect(await runService({ program: "weft-x", service: "x", parseArgs, run: async () => 0 }, [])).toBe(EXIT.usage);
    const failing = (error: Error) => runService({ program: "weft-x", service: "x", run: () => startStep("cannot own the name", () => Promise.reject(error)).then(() => 0) }, []);
    expect(await failing(new Error("taken"))).toBe(EXIT.startFailed);
    expect(await runService({ program: "weft-x", service: "x", run: () => Promise.reject(new TypeError("a bug")) }, [])).toBe(EXIT.internal);
    await expect(startStep("step", () => Promise.reject(new StartError("already named")))).rejects.toThrow(/^already named$/);
  });

  test("a SIGTERM during start-up is not lost and does not kill the process half-started: run sees it", async () => {
    const script = `
      process.exit(await runService({ program: "weft-x", service: "x", run: async (ctx) => {
        await Bun.sleep(800); // a slow start-up step; SIGTERM arrives meanwhile
        const signal = await Promise.race([ctx.stopRequested, Bun.sleep(5000).then(() => "none")]);
        return signal === "SIGTERM" ? 42 : 1;
      } }, []));`;
    expect((await program(script, [], 200)).code).toBe(42);
  });

  test("its signal handlers are removed when it is over: a later SIGTERM kills the process as usual", async () => {
    const script = `
      await runService({ program: "weft-x", service: "x", run: async () => 0 }, []);
      console.error("listeners:" + process.listenerCount("SIGTERM") + "," + process.listenerCount("SIGINT"));`;
    expect((await program(script)).stderr).toContain("listeners:0,0");
  });
});
