/**
 * weft-compositor's D-Bus surface, `org.weft.Compositor1` (protocol/dbus/org.weft.Compositor1.xml): thin
 * handlers that check the caller and the arguments once, here at the edge, then call the native compositor.
 *
 * Who may call (the caller's unique name and uid come from the bus; names are checked at call time):
 *   OpenClient("shell")   the shell: the owner of org.weft.Shell1.Role, the name weft-shell takes first thing
 *                         (it owns org.weft.Shell1 only once ready, after it has its connections). A shell
 *                         connection gets screencopy, layer-shell and the zweft manager.
 *   Screenshot            the shell; on a test surface (where TestInput is exported: a headless-only backend, or
 *                         WEFT_COMPOSITOR_TEST_INPUT=1) any client of the user, as it may drive input there anyway.
 *   Clipboard*            the shell and the runtimes (owners of org.weft.Runtime1.S<N>), which gate apps by their
 *                         clipboard capabilities (clipboard.ts).
 *   everything else       any client of the compositor's own uid.
 */

import * as v from "valibot";
import { busError, requireSameUid, contractPath, objectPathForName, type BusConnection, type CallContext, type ExportedService } from "../common/bus/index.ts";
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

/** The shell's role name: weft-shell owns it for its whole life, from before it asks for its connections. */
export const SHELL_ROLE_NAME = "org.weft.Shell1.Role";
const RUNTIME_NAME = /^org\.weft\.Runtime1\.S\d+$/;

/** Whether `sender` is the shell: the owner of its role name right now. */
async function isShell(bus: BusConnection, sender: string): Promise<boolean> {
  return (await bus.nameOwner(SHELL_ROLE_NAME).catch(() => undefined)) === sender;
}

/** Whether `sender` owns some session's org.weft.Runtime1.S<N> right now. */
async function isRuntime(bus: BusConnection, sender: string): Promise<boolean> {
  const [names] = (await bus.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "ListNames" })) as [string[]];
  for (const name of names) {
    if (RUNTIME_NAME.test(name) && (await bus.nameOwner(name).catch(() => undefined)) === sender) return true;
  }
  return false;
}

/** Refuses `ctx`'s caller unless `allowed`, naming who may call `ctx.member` (logged). */
function refuseUnless(allowed: boolean, ctx: CallContext, who: string): void {
  if (allowed) return;
  ctx.log.warn("refused a caller", { member: ctx.member, caller: ctx.sender });
  throw busError(COMPOSITOR_INTERFACE, "AccessDenied", `${ctx.member} is for ${who}`);
}

export interface CompositorAccess {
  /** A test surface (TestInput exported): any client of the user may take screenshots. */
  testSurface: boolean;
}

/** Exports Compositor1 for `compositor` at /org/weft/Compositor1. */
export function exportCompositor(bus: BusConnection, compositor: NativeCompositor, access: CompositorAccess = { testSurface: false }): ExportedService {
  return bus.exportService(contractPath(COMPOSITOR_INTERFACE), COMPOSITOR_PATH, {
    methods: {
      OpenClient: async ([role, sessionId]: [string, bigint], ctx) => {
        await requireSameUid(ctx, COMPOSITOR_INTERFACE);
        const parsed = v.safeParse(RoleSchema, role);
        if (!parsed.success) {
          throw busError(COMPOSITOR_INTERFACE, "InvalidArgs", `role ${JSON.stringify(role)} is unknown: use "shell" or "application"`);
        }
        if (parsed.output === "shell") refuseUnless(await isShell(bus, ctx.sender), ctx, `the shell: a "shell" connection only for the owner of ${SHELL_ROLE_NAME}`);
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
        refuseUnless(access.testSurface || (await isShell(bus, ctx.sender)), ctx, `the shell (the owner of ${SHELL_ROLE_NAME})`);
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
      ...clipboardMethods(compositor, async (ctx) =>
        refuseUnless((await isShell(bus, ctx.sender)) || (await isRuntime(bus, ctx.sender)), ctx, `the shell (${SHELL_ROLE_NAME}) and the apps' runtimes (org.weft.Runtime1.S<id>)`),
      ),
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
