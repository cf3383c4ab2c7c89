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
import { Compositor, Compositor1, outputTuple, Runtime, Shell, windowTuple, type ClientRole } from "../../protocol/dbus/index.ts";
import { busError, requireSameUid, type BusConnection, type CallContext, type Served } from "../common/bus/index.ts";
import { clipboardMethods } from "./clipboard.ts";
import type { CompositorEvent } from "./events.ts";
import { CompositorError, type NativeCompositor } from "./native.ts";
import { encodePng } from "../common/image/png.ts";

type CompositorService = Served<typeof Compositor1>;

const RoleSchema = v.picklist(["shell", "application"] satisfies ClientRole[]);

function failed(error: unknown): never {
  if (error instanceof CompositorError) throw busError(Compositor1, "Failed", error.message);
  throw error;
}

/** Whether `sender` is the shell: the owner of its role name right now (weft-shell owns it for its whole life). */
async function isShell(bus: BusConnection, sender: string): Promise<boolean> {
  return (await bus.nameOwner(Shell.roleName).catch(() => undefined)) === sender;
}

/** Whether `sender` owns some session's org.weft.Runtime1.S<N> right now. */
async function isRuntime(bus: BusConnection, sender: string): Promise<boolean> {
  const [names] = (await bus.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "ListNames" })) as [string[]];
  for (const name of names) {
    if (Runtime.busNamePattern.test(name) && (await bus.nameOwner(name).catch(() => undefined)) === sender) return true;
  }
  return false;
}

/** Refuses `ctx`'s caller unless `allowed`, naming who may call `ctx.member` (logged). */
function refuseUnless(allowed: boolean, ctx: CallContext, who: string): void {
  if (allowed) return;
  ctx.log.warn("refused a caller", { member: ctx.member, caller: ctx.sender });
  throw busError(Compositor1, "AccessDenied", `${ctx.member} is for ${who}`);
}

export interface CompositorAccess {
  /** A test surface (TestInput exported): any client of the user may take screenshots. */
  testSurface: boolean;
}

/** Exports Compositor1 for `compositor` at /org/weft/Compositor1. */
export function exportCompositor(bus: BusConnection, compositor: NativeCompositor, access: CompositorAccess = { testSurface: false }): CompositorService {
  return bus.serve(Compositor1, Compositor.path, {
    methods: {
      OpenClient: async ([role, sessionId], ctx) => {
        await requireSameUid(ctx, Compositor1);
        const parsed = v.safeParse(RoleSchema, role);
        if (!parsed.success) {
          throw busError(Compositor1, "InvalidArgs", `role ${JSON.stringify(role)} is unknown: use "shell" or "application"`);
        }
        if (parsed.output === "shell") refuseUnless(await isShell(bus, ctx.sender), ctx, `the shell: a "shell" connection only for the owner of ${Shell.roleName}`);
        let fd: number;
        try {
          fd = compositor.openClient(parsed.output, sessionId);
        } catch (error) {
          failed(error);
        }
        ctx.log.info("client connection opened", { role: parsed.output, session: String(sessionId) });
        return ctx.closeAfterReply(fd);
      },
      ListOutputs: async (_args, ctx) => {
        await requireSameUid(ctx, Compositor1);
        try {
          return compositor.listOutputs().map(outputTuple);
        } catch (error) {
          failed(error);
        }
      },
      ListWindows: async (_args, ctx) => {
        await requireSameUid(ctx, Compositor1);
        try {
          return compositor.listWindows().map(windowTuple);
        } catch (error) {
          failed(error);
        }
      },
      FocusSession: async ([sessionId], ctx) => {
        await requireSameUid(ctx, Compositor1);
        let shown: boolean;
        try {
          shown = compositor.showSession(sessionId);
        } catch (error) {
          failed(error);
        }
        if (!shown) throw busError(Compositor1, "NotFound", `session ${sessionId} has no window to focus`);
        ctx.log.info("session focused", { session: String(sessionId) });
      },
      CloseSession: async ([sessionId], ctx) => {
        await requireSameUid(ctx, Compositor1);
        try {
          const asked = compositor.closeSession(sessionId);
          ctx.log.info("asked a session's windows to close", { session: String(sessionId), windows: asked });
          return asked;
        } catch (error) {
          failed(error);
        }
      },
      Screenshot: async ([output], ctx) => {
        await requireSameUid(ctx, Compositor1);
        refuseUnless(access.testSurface || (await isShell(bus, ctx.sender)), ctx, `the shell (the owner of ${Shell.roleName})`);
        let pixels;
        try {
          pixels = compositor.screenshot(output);
        } catch (error) {
          failed(error);
        }
        if (pixels === null) throw busError(Compositor1, "NotFound", `there is no output named ${JSON.stringify(output)}: see ListOutputs`);
        return encodePng(pixels);
      },
      // The clipboard: ClipboardGet/Set, PrimarySelectionGet/Set (clipboard.ts).
      ...clipboardMethods(compositor, async (ctx) =>
        refuseUnless((await isShell(bus, ctx.sender)) || (await isRuntime(bus, ctx.sender)), ctx, `the shell (${Shell.roleName}) and the apps' runtimes (${Runtime.busNameTemplate})`),
      ),
    },
  });
}

/** Turns the compositor thread's events into Compositor1 signals on `service`. */
export function emitCompositorEvent(service: CompositorService, event: CompositorEvent): void {
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
