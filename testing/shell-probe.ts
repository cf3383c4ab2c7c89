/**
 * Drives native/compositor/tools/weft-shell-probe.c (the zweft shell and layer-shell protocol test client) for
 * the compositor tests: script mode, commands on its stdin, its JSON events followed live through the file
 * named by WEFT_PROBE_LOG (spawnClient already reads its stdout to the end).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CompositorWorld, SpawnedClient } from "./compositor.ts";
import { until } from "./until.ts";

export const PROBE = join(import.meta.dir, "../native/compositor/target/tools/weft-shell-probe");

export type ProbeEvent = { event: string; window?: string; [key: string]: unknown };

export { until };

let probeCount = 0;

/** A probe in script mode. */
export class ScriptProbe {
  private constructor(
    readonly client: SpawnedClient,
    readonly logPath: string,
  ) {}

  /** Starts the probe on a connection of `role` and `session`; logDir holds its event log. */
  static async start(world: Pick<CompositorWorld, "spawnClient">, logDir: string, role: "shell" | "application", session: bigint, env: Record<string, string> = {}): Promise<ScriptProbe> {
    const logPath = join(logDir, `probe-${process.pid}-${++probeCount}.jsonl`);
    const client = await world.spawnClient([PROBE, "script"], role, session, { stdin: "pipe", env: { WEFT_PROBE_LOG: logPath, ...env } });
    const probe = new ScriptProbe(client, logPath);
    await probe.waitFor((e) => e.event === "global", "the registry round trip");
    return probe;
  }

  events(): ProbeEvent[] {
    let text = "";
    try {
      text = readFileSync(this.logPath, "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter((line) => line.endsWith("}"))
      .map((line) => JSON.parse(line) as ProbeEvent);
  }

  /** Events of one window, in order. */
  of(window: string, event?: string): ProbeEvent[] {
    return this.events().filter((e) => e.window === window && (event === undefined || e.event === event));
  }

  async waitFor(predicate: (e: ProbeEvent) => boolean, what: string, after = 0): Promise<ProbeEvent> {
    return until(() => {
      if (this.client.process.exitCode !== null) {
        const found = this.events().slice(after).find(predicate);
        if (found) return found;
        throw new Error(`the probe exited ${this.client.process.exitCode} while waiting for ${what}: ${JSON.stringify(this.events())}`);
      }
      return this.events().slice(after).find(predicate);
    }, `${what}; probe saw ${JSON.stringify(this.events().slice(after))}`);
  }

  /**
   * Sends one command and waits until the probe ran it (its round trip included). Returns the events it brought,
   * except presentation feedback: that answers an earlier commit whenever the output next repaints, so it may
   * land in any command's window (read it with `of` and `waitFor`).
   */
  async run(command: string): Promise<ProbeEvent[]> {
    const before = this.events().length;
    const stdin = this.client.process.stdin as import("bun").FileSink;
    stdin.write(`${command}\n`);
    await stdin.flush();
    await this.waitFor((e) => e.event === "done", `the probe to run "${command}"`, before);
    const events = this.events().slice(before);
    return events.slice(0, events.findIndex((e) => e.event === "done")).filter((e) => e.event !== "presentation_feedback");
  }

  /** The latest configure of window. */
  lastConfigure(window: string): ProbeEvent | undefined {
    return this.of(window, "configure").at(-1);
  }

  lastFocus(window: string): unknown {
    return this.of(window, "focus_changed").at(-1)?.focused;
  }

  async close(): Promise<void> {
    await this.client.kill();
  }
}
