/**
 * weft-panel (native/compositor/tools/weft-panel.c) on its own shell-role connection: it reserves the taskbar
 * strip (a surface-less zweft `panel` window along the bottom edge, so the compositor shrinks the application
 * area) and prints the window's events as JSON lines, which arrive here parsed and checked.
 *
 * Its stdin is a pipe only we hold: closing it (stop) or our death ends it; it also has PR_SET_PDEATHSIG.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { closeFd } from "../common/bus/index.ts";
import { forEachLine } from "../common/os/lines.ts";
import type { Logger } from "../common/daemon/log.ts";

export const PANEL_BINARY = process.env.WEFT_PANEL ?? join(import.meta.dir, "../../native/compositor/target/tools/weft-panel");
export const TASKBAR_HEIGHT = 48;

const PanelEventSchema = v.variant("event", [
  v.object({ event: v.literal("output"), width: v.number(), height: v.number() }),
  v.object({ event: v.literal("configure"), x: v.number(), y: v.number(), width: v.number(), height: v.number(), state: v.number() }),
  v.object({ event: v.literal("focus_changed"), focused: v.number() }),
  v.object({ event: v.literal("navigation_gesture"), type: v.number(), fingers: v.number(), dx: v.number(), dy: v.number() }),
  v.object({ event: v.literal("window_closed") }),
]);
export type PanelEvent = v.InferOutput<typeof PanelEventSchema>;

export class PanelHelper {
  /** Resolves with weft-panel's exit code when it is gone. */
  readonly exited: Promise<number>;

  private constructor(readonly process: Bun.Subprocess<"pipe", "pipe", "pipe">) {
    this.exited = process.exited;
  }

  /** Starts weft-panel on `waylandFd` (closed here: the child holds it). */
  static start(waylandFd: number, log: Logger, onEvent: (event: PanelEvent) => void): PanelHelper {
    if (!existsSync(PANEL_BINARY)) {
      closeFd(waylandFd);
      throw new Error(`${PANEL_BINARY} does not exist: build native/compositor (scripts/setup.sh)`);
    }
    const child = Bun.spawn([PANEL_BINARY, "--height", String(TASKBAR_HEIGHT)], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", WAYLAND_SOCKET: "3" },
      stdio: ["pipe", "pipe", "pipe", waylandFd],
    }) as Bun.Subprocess<"pipe", "pipe", "pipe">;
    closeFd(waylandFd);
    void forEachLine(child.stdout, (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        log.warn("weft-panel printed a line that is not JSON", { line: line.slice(0, 200) });
        return;
      }
      const event = v.safeParse(PanelEventSchema, parsed);
      if (!event.success) {
        log.warn("weft-panel printed an unknown event", { line: line.slice(0, 200) });
        return;
      }
      onEvent(event.output);
    }).catch(() => {});
    void forEachLine(child.stderr, (line) => log.warn("weft-panel", { line: line.slice(0, 500) })).catch(() => {});
    return new PanelHelper(child);
  }

  /** Closes its stdin (it exits 0), then kills it if it is still there after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      try {
        await this.process.stdin.end();
      } catch {
        // already closed
      }
      const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
      await this.process.exited;
      clearTimeout(timer);
    }
  }
}
