/**
 * weft-compositor's D-Bus surface, `org.weft.Compositor1` (protocol/dbus/org.weft.Compositor1.xml): thin
 * handlers that check the caller and the arguments once, here at the edge, then call the native compositor.
 */

import * as v from "valibot";
import { busError, contractPath, objectPathForName, type BusConnection, type ExportedService, type CallContext } from "../common/bus/index.ts";
import { CompositorError, type ClientRole, type NativeCompositor } from "./native.ts";

export const COMPOSITOR_NAME = "org.weft.Compositor1";
export const COMPOSITOR_INTERFACE = COMPOSITOR_NAME;
export const COMPOSITOR_PATH = objectPathForName(COMPOSITOR_NAME);

const RoleSchema = v.picklist(["shell", "application"] satisfies ClientRole[]);

/** Only the compositor's own user (appd, `weft session`, tests) may hand out connections. */
async function requireOwnUid(ctx: CallContext): Promise<void> {
  const { uid } = await ctx.credentials();
  if (uid !== process.getuid!()) {
    ctx.log.warn("refused a call from another user", { uid, member: ctx.member });
    throw busError(COMPOSITOR_INTERFACE, "AccessDenied", `${ctx.member} is for clients running as uid ${process.getuid!()}`);
  }
}

function failed(error: unknown): never {
  if (error instanceof CompositorError) throw busError(COMPOSITOR_INTERFACE, "Failed", error.message);
  throw error;
}

/** Exports Compositor1 for `compositor` at /org/weft/Compositor1. */
export function exportCompositor(bus: BusConnection, compositor: NativeCompositor): ExportedService {
  return bus.exportService(contractPath(COMPOSITOR_INTERFACE), COMPOSITOR_PATH, {
    methods: {
      OpenClient: async ([role, sessionId]: [string, bigint], ctx) => {
        await requireOwnUid(ctx);
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
        await requireOwnUid(ctx);
        try {
          return compositor.listOutputs().map((o) => [o.name, o.x, o.y, o.width, o.height]);
        } catch (error) {
          failed(error);
        }
      },
    },
  });
}
