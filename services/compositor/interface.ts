/**
 * weft-compositor's D-Bus surface, `org.weft.Compositor1` (protocol/dbus/org.weft.Compositor1.xml): thin
 * handlers that check the caller and the arguments once, here at the edge, then call the native compositor.
 */

import * as v from "valibot";
import { busError, requireSameUid, contractPath, objectPathForName, type BusConnection, type ExportedService } from "../common/bus/index.ts";
import { clipboardMethods } from "./clipboard.ts";
import type { CompositorEvent } from "./events.ts";
import { CompositorError, type ClientRole, type NativeCompositor, type WindowInfo } from "./native.ts";
import { encodePng } from "./png.ts";

export const COMPOSITOR_NAME = "org.weft.Compositor1";
export const COMPOSITOR_INTERFACE = COMPOSITOR_NAME;
export const COMPOSITOR_PATH = objectPathForName(COMPOSITOR_NAME);

const RoleSchema = v.picklist(["shell", "application"] satisfies ClientRole[]);

function failed(error: unknown): never {
  if (error instanceof CompositorError) throw busError(COMPOSITOR_INTERFACE, "Failed", error.message);
  throw error;
}

/** Exports Compositor1 for `compositor` at /org/weft/Compositor1. */
export function exportCompositor(bus: BusConnection, compositor: NativeCompositor): ExportedService {
  return bus.exportService(contractPath(COMPOSITOR_INTERFACE), COMPOSITOR_PATH, {
    methods: {
      OpenClient: async ([role, sessionId]: [string, bigint], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        const parsed = v.safeParse(RoleSchema, role);
        if (!parsed.success) {
          throw busError(COMPOSITOR_INTERFACE, "InvalidArgs", `role ${JSON.stringify(role)} is unknown: use "shell" or "application"`);
        }
        let fd: number;
        try {
          fd = compositor.openClient(parsed.output, sessionId);
        } catch (error) {
          failed(error);
        }
        ctx.log.info("client connection opened", { role: parsed.output, session: String(sessionId) });
        return ctx.closeAfterReply(fd);
      },
      ListOutputs: async (_args: [], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        try {
          return compositor.listOutputs().map((o) => [o.name, o.x, o.y, o.width, o.height]);
        } catch (error) {
          failed(error);
        }
      },
      ListWindows: async (_args: [], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        try {
          return compositor.listWindows().map((w) => [w.id, w.session, w.role, w.appId, w.title, w.x, w.y, w.width, w.height, w.focused]);
        } catch (error) {
          failed(error);
        }
      },
      FocusSession: async ([sessionId]: [bigint], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        let shown: boolean;
        try {
          shown = compositor.showSession(sessionId);
        } catch (error) {
          failed(error);
        }
        if (!shown) throw busError(COMPOSITOR_INTERFACE, "NotFound", `session ${sessionId} has no window to focus`);
        ctx.log.info("session focused", { session: String(sessionId) });
      },
      CloseSession: async ([sessionId]: [bigint], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        try {
          const asked = compositor.closeSession(sessionId);
          ctx.log.info("asked a session's windows to close", { session: String(sessionId), windows: asked });
          return asked;
        } catch (error) {
          failed(error);
        }
      },
      Screenshot: async ([output]: [string], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        let pixels;
        try {
          pixels = compositor.screenshot(output);
        } catch (error) {
          failed(error);
        }
        if (pixels === null) throw busError(COMPOSITOR_INTERFACE, "NotFound", `there is no output named ${JSON.stringify(output)}: see ListOutputs`);
        return encodePng(pixels);
      },
      // The clipboard: ClipboardGet/Set, PrimarySelectionGet/Set (clipboard.ts).
      ...clipboardMethods(compositor),
    },
  });
}

/** Turns the compositor thread's events into Compositor1 signals on `service`. */
export function emitCompositorEvent(service: ExportedService, event: CompositorEvent): void {
  switch (event.kind) {
    case "window-mapped":
      return service.emit("WindowMapped", event.id, event.session, event.role, event.appId, event.title);
    case "window-changed":
      return service.emit("WindowChanged", event.id, event.session, event.appId, event.title);
    case "window-closed":
      return service.emit("WindowClosed", event.id, event.session);
    case "focus":
      return service.emit("FocusChanged", event.id, event.session);
    case "gesture":
      return service.emit("NavigationGesture", event.type, event.fingers, event.dx, event.dy);
  }
}

/** One row of ListWindows as clients read it (`a(utsssiiiib)`): the same fields the native side lists. */
export type WindowRow = WindowInfo;

/** The body of a ListWindows reply as rows (for clients of the service: tests, the shell, the demo). */
export function parseWindowRows(reply: unknown[]): WindowRow[] {
  const rows = (reply[0] ?? []) as unknown[][];
  return rows.map(([id, session, role, appId, title, x, y, width, height, focused]) => ({
    id: id as number,
    session: session as bigint,
    role: role === "shell" ? "shell" : "application",
    appId: appId as string,
    title: title as string,
    x: x as number,
    y: y as number,
    width: width as number,
    height: height as number,
    focused: focused as boolean,
  }));
}
