/**
 * weft-app-shell's D-Bus surface: `org.weft.AppShell1` at /org/weft/AppShell1 (protocol/dbus/org.weft.AppShell1.xml)
 * and, only with WEFT_APP_SHELL_INSPECT=1, `org.weft.AppShell1.Inspect` on the same object
 * (protocol/dbus/org.weft.AppShell1.Inspect.xml). Thin: callers are checked from the bus, arguments here.
 */

import { busError, requireSameUid, contractPath, objectPathForName, type BusConnection, type ExportedService } from "../common/bus/index.ts";
import { InspectError, type PageInspector } from "./inspect.ts";

export const APP_SHELL_INTERFACE = "org.weft.AppShell1";
export const APP_SHELL_PATH = objectPathForName(APP_SHELL_INTERFACE);
export const INSPECT_INTERFACE = "org.weft.AppShell1.Inspect";

/** The bus name of session `id`'s app-shell. */
export function appShellBusName(sessionId: bigint): string {
  return `${APP_SHELL_INTERFACE}.S${sessionId}`;
}

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

export function exportAppShell(bus: BusConnection, facts: AppShellFacts): ExportedService {
  return bus.exportService(contractPath(APP_SHELL_INTERFACE), APP_SHELL_PATH, {
    methods: {
      Bound: (_args: [], ctx) => {
        if (ctx.sender !== facts.supervisor) {
          ctx.log.warn("refused Bound from a peer that is not the supervisor", { caller: ctx.sender });
          throw busError(APP_SHELL_INTERFACE, "AccessDenied", "only the session's supervisor (appd) may call Bound");
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
  if (error instanceof InspectError) throw busError(APP_SHELL_INTERFACE, error.errorName, error.message);
  throw busError(APP_SHELL_INTERFACE, "Failed", `the page could not be read: ${String((error as Error).message ?? error).slice(0, 200)}`);
}

export function exportInspect(bus: BusConnection, inspector: PageInspector): ExportedService {
  return bus.exportService(
    contractPath(INSPECT_INTERFACE),
    APP_SHELL_PATH,
    {
      methods: {
        ElementRect: async ([selector]: [string], ctx) => {
          await requireSameUid(ctx, APP_SHELL_INTERFACE);
          try {
            const box = await inspector.elementRect(selector);
            return [box.x, box.y, box.width, box.height];
          } catch (error) {
            refused(error);
          }
        },
        ElementText: async ([selector]: [string], ctx) => {
          await requireSameUid(ctx, APP_SHELL_INTERFACE);
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
