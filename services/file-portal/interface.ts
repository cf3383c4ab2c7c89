/**
 * weft-file-portal's D-Bus surface, `org.weft.FilePortal1` (protocol/dbus/org.weft.FilePortal1.xml): thin
 * handlers that pass each call, with the caller's unique name from the bus, to the FilePortal, and turn its
 * refusals into `org.weft.FilePortal1.Error.<name>`.
 */

import { busError, contractPath, objectPathForName, type BusConnection, type ExportedService } from "../common/bus/index.ts";
import { PortalError } from "./errors.ts";
import type { FilePortal } from "./portal.ts";

export const FILE_PORTAL_NAME = "org.weft.FilePortal1";
export const FILE_PORTAL_INTERFACE = FILE_PORTAL_NAME;
export const FILE_PORTAL_PATH = objectPathForName(FILE_PORTAL_NAME);

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PortalError) throw busError(FILE_PORTAL_INTERFACE, error.errorName, error.message);
    throw error;
  }
}

/** Exports FilePortal1 for `portal` at /org/weft/FilePortal1. */
export function exportFilePortal(bus: BusConnection, portal: FilePortal): ExportedService {
  return bus.exportService(
    contractPath(FILE_PORTAL_INTERFACE),
    FILE_PORTAL_PATH,
    {
      methods: {
        RegisterGrants: ([sessionId, roots]: [bigint, unknown], ctx) => answer(() => portal.registerGrants(ctx.sender, sessionId, roots)),
        RevokeGrants: ([sessionId]: [bigint], ctx) => answer(() => portal.revokeGrants(ctx.sender, sessionId)),
        Read: ([sessionId, path]: [bigint, string], ctx) => answer(() => portal.read(ctx.sender, sessionId, path)),
        Write: ([sessionId, path, data]: [bigint, string, Buffer], ctx) => answer(() => portal.write(ctx.sender, sessionId, path, data)),
        List: ([sessionId, path]: [bigint, string], ctx) => answer(() => portal.list(ctx.sender, sessionId, path)),
        Stat: ([sessionId, path]: [bigint, string], ctx) => answer(() => portal.stat(ctx.sender, sessionId, path)),
        Remove: ([sessionId, path]: [bigint, string], ctx) => answer(() => portal.remove(ctx.sender, sessionId, path)),
        Mkdir: ([sessionId, path]: [bigint, string], ctx) => answer(() => portal.mkdir(ctx.sender, sessionId, path)),
      },
      properties: {
        MaxFileSize: { get: () => BigInt(portal.limits.maxFileBytes) },
      },
    },
    // Write's data may be up to the file limit; anything above it (up to the bus's own message limit) still
    // reaches the handler, so the caller gets TooLarge rather than the kit's LimitsExceeded.
    { maxStringLength: 2 * portal.limits.maxFileBytes },
  );
}
