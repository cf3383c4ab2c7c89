/**
 * weft-file-portal's D-Bus surface, `org.weft.FilePortal1` (protocol/dbus/org.weft.FilePortal1.xml): thin
 * handlers that pass each call, with the caller's unique name from the bus, to the FilePortal, and turn its
 * refusals into `org.weft.FilePortal1.Error.<name>`.
 */

import { FilePortal as FilePortalEndpoint, FilePortal1 } from "../../protocol/dbus/index.ts";
import { busError, type BusConnection, type Served } from "../common/bus/index.ts";
import { readSealedContent, SealedContentError, sealedContent } from "../common/os/sealed-content.ts";
import { PortalError } from "./errors.ts";
import type { FilePortal } from "./portal.ts";

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PortalError) throw busError(FilePortal1, error.errorName, error.message);
    throw error;
  }
}

/** Exports FilePortal1 for `portal` at /org/weft/FilePortal1. */
export function exportFilePortal(bus: BusConnection, portal: FilePortal): Served<typeof FilePortal1> {
  return bus.serve(
    FilePortal1,
    FilePortalEndpoint.path,
    {
      methods: {
        RegisterGrants: ([sessionId, roots], ctx) => answer(() => portal.registerGrants(ctx.sender, sessionId, roots)),
        RevokeGrants: ([sessionId], ctx) => answer(() => portal.revokeGrants(ctx.sender, sessionId)),
        // Contents travel in sealed memfds, never in the message (common/os/sealed-content.ts).
        Read: ([sessionId, path], ctx) =>
          answer(async () => ctx.closeAfterReply(sealedContent("weft-portal-read", await portal.read(ctx.sender, sessionId, path)))),
        Write: ([sessionId, path, content], ctx) =>
          answer(() => portal.write(ctx.sender, sessionId, path, takeContent(content, path, portal.limits.maxFileBytes))),
        List: ([sessionId, path], ctx) => answer(() => portal.list(ctx.sender, sessionId, path)),
        Stat: ([sessionId, path], ctx) => answer(() => portal.stat(ctx.sender, sessionId, path)),
        Remove: ([sessionId, path], ctx) => answer(() => portal.remove(ctx.sender, sessionId, path)),
        Mkdir: ([sessionId, path], ctx) => answer(() => portal.mkdir(ctx.sender, sessionId, path)),
      },
      properties: {
        MaxFileSize: { get: () => BigInt(portal.limits.maxFileBytes) },
      },
    },
  );
}

/** Write's content, read from its sealed memfd; the refusals are the portal's own errors. */
function takeContent(fd: number, path: string, maxBytes: number): Uint8Array {
  try {
    return readSealedContent(fd, maxBytes);
  } catch (error) {
    if (!(error instanceof SealedContentError)) throw error;
    throw new PortalError(error.reason === "too-large" ? "TooLarge" : "InvalidArgs", `Write of ${JSON.stringify(path).slice(0, 300)}: ${error.message} (MaxFileSize)`);
  }
}
