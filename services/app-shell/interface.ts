/**
 * weft-app-shell's D-Bus surface: `org.weft.AppShell1` at /org/weft/AppShell1 (protocol/dbus/org.weft.AppShell1.xml)
 * and, only with WEFT_APP_SHELL_INSPECT=1, `org.weft.AppShell1.Inspect` on the same object
 * (protocol/dbus/org.weft.AppShell1.Inspect.xml). Thin: callers are checked from the bus, arguments here.
 */

import { AppShell, AppShell1, AppShell1Inspect } from "../../protocol/dbus/index.ts";
import { busError, requireSameUid, type BusConnection, type Served } from "../common/bus/index.ts";
import { InspectError, type PageInspector } from "./inspect.ts";

export type AppShellState = "loading" | "ready" | "bound";

export interface AppShellFacts {
  appId: string;
  sessionId: bigint;
  supervisor: string;
  chromiumPid: number;
  origin: string;
  inspectable: boolean;
  state: () => AppShellState;
  /** The supervisor said it has bound this app-shell (held page messages may go now). */
  bound: () => void;
}

export function exportAppShell(bus: BusConnection, facts: AppShellFacts): Served<typeof AppShell1> {
  return bus.serve(AppShell1, AppShell.path, {
    methods: {
      Bound: (_args, ctx) => {
        if (ctx.sender !== facts.supervisor) {
          ctx.log.warn("refused Bound from a peer that is not the supervisor", { caller: ctx.sender });
          throw busError(AppShell1, "AccessDenied", "only the session's supervisor (appd) may call Bound");
        }
        facts.bound();
      },
    },
    properties: {
      AppId: { get: () => facts.appId },
      SessionId: { get: () => facts.sessionId },
      State: { get: () => facts.state() },
      ChromiumPid: { get: () => facts.chromiumPid },
      Origin: { get: () => facts.origin },
      Inspectable: { get: () => facts.inspectable },
    },
  });
}

function refused(error: unknown): never {
  if (error instanceof InspectError) throw busError(AppShell1Inspect, error.errorName, error.message);
  throw busError(AppShell1Inspect, "Failed", `the page could not be read: ${String((error as Error).message ?? error).slice(0, 200)}`);
}

export function exportInspect(bus: BusConnection, inspector: PageInspector): Served<typeof AppShell1Inspect> {
  return bus.serve(
    AppShell1Inspect,
    AppShell.path,
    {
      methods: {
        ElementRect: async ([selector], ctx) => {
          await requireSameUid(ctx, AppShell1Inspect);
          try {
            const box = await inspector.elementRect(selector);
            return [box.x, box.y, box.width, box.height] as [number, number, number, number];
          } catch (error) {
            refused(error);
          }
        },
        ElementText: async ([selector], ctx) => {
          await requireSameUid(ctx, AppShell1Inspect);
          try {
            return await inspector.elementText(selector);
          } catch (error) {
            refused(error);
          }
        },
      },
    },
    { maxStringLength: 64 * 1024 },
  );
}
