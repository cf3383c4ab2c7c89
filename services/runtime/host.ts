/**
 * The `weft:app/*` host imports (protocol/wit/weft-app.wit), each behind its capability.
 *
 * Every gated function first asks the capability table (`allowsCall`); without the capability the guest gets
 * `err("… needs the capability …")` naming what to declare, and the denial is logged. All of them run on the
 * main thread while the guest's worker waits (services/runtime/wasmtime), so they may do async work.
 */

import { FilePortal, FilePortal1, Notifications, NotificationsService } from "../../protocol/dbus/index.ts";
import { ErrorNames, isBusError, type BusConnection } from "../common/bus/index.ts";
import { SealedContentError, takeSealedContent, withSealedContent } from "../common/os/sealed-content.ts";
import { allowsCall, capabilitiesCovering, type Capability } from "../common/package/capabilities.ts";
import type { Logger } from "../common/daemon/log.ts";
import { clipboardRead, clipboardWrite } from "./clipboard.ts";
import { FetchError, performFetch } from "./fetch.ts";
import type { RuntimeSession } from "./session.ts";
import type { HostImport, WitValue } from "./wasmtime/index.ts";

export interface HostContext {
  session: RuntimeSession;
  granted: readonly Capability[];
  /** The app's display name, shown as the sender of its notifications. */
  appName: string;
  bus: BusConnection;
  log: Logger;
}

const VERSION = "@0.1.0";
const ok = (val?: WitValue): WitValue => (val === undefined ? { tag: "ok" } : { tag: "ok", val });
const err = (message: string): WitValue => ({ tag: "err", val: message });
const some = (val: WitValue): WitValue => ({ tag: "some", val });
const none: WitValue = { tag: "none" };

type Impl = (args: WitValue[]) => Promise<WitValue[]> | WitValue[];

/** Wraps a gated function: without a covering capability the guest gets an error naming the one to declare. */
function gated(context: HostContext, iface: string, fn: string, impl: Impl): Impl {
  return (args) => {
    if (allowsCall(context.granted, iface, fn)) return impl(args);
    const options = capabilitiesCovering(iface)
      .filter((d) => d.covers.some((c) => c.functions === "all" || c.functions.includes(fn)))
      .map((d) => d.pattern);
    context.log.warn("capability denied", { call: `${iface}.${fn}`, needs: options.join(" or ") });
    return [err(`${iface}.${fn} needs the capability ${options.join(" or ")}, which ${context.session.appId} does not declare in its wapp.toml`)];
  };
}

const str = (value: WitValue | undefined): string => {
  if (typeof value !== "string") throw new TypeError("expected a string from the guest");
  return value;
};

/** The most a file the portal hands over may hold: more than a guest's whole linear memory (256 MiB) is useless. */
const MAX_PORTAL_CONTENT_BYTES = 256 * 1024 * 1024;
/** Notification fields go to another process's renderer: bound them, and allow icon names, never paths. */
const MAX_TITLE = 256;
const MAX_BODY = 4096;
const ICON_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function hostImports(context: HostContext): HostImport[] {
  const { session, log } = context;
  return [
    {
      interface: `weft:app/notify${VERSION}`,
      functions: {
        ready: () => {
          session.guestReady();
          return [];
        },
      },
    },
    {
      interface: `weft:app/ipc${VERSION}`,
      functions: {
        send: ([payload]) => {
          const sent = session.guestSend(str(payload));
          return [sent.ok ? ok() : err(sent.error)];
        },
        recv: () => {
          const message = session.guestRecv();
          return [message === undefined ? none : some(message)];
        },
        "recv-wait": async ([timeoutMs]) => {
          const message = await session.guestRecvWait(Number(timeoutMs));
          return [message === undefined ? none : some(message)];
        },
      },
    },
    {
      interface: `weft:app/fetch${VERSION}`,
      functions: {
        fetch: gated(context, "weft:app/fetch", "fetch", async ([url, method, headers, body]) => {
          const pairs = (headers as WitValue[]).map((pair) => {
            const [name, value] = pair as WitValue[];
            return [str(name), str(value)] as [string, string];
          });
          const requestBody = (body as { tag: string; val?: WitValue }).tag === "some" ? ((body as { val: Uint8Array }).val) : undefined;
          try {
            const response = await performFetch(context.granted, { url: str(url), method: str(method), headers: pairs, body: requestBody });
            return [ok({ status: response.status, "content-type": response.contentType, body: response.body })];
          } catch (error) {
            if (!(error instanceof FetchError)) throw error;
            if (error.denied) log.warn("fetch denied", { url: str(url), reason: error.message });
            return [err(error.message)];
          }
        }),
      },
    },
    {
      interface: `weft:app/notifications${VERSION}`,
      functions: {
        notify: gated(context, "weft:app/notifications", "notify", async ([title, body, icon]) => {
          const iconName = (icon as { tag: string; val?: WitValue }).tag === "some" ? str((icon as { val: WitValue }).val) : "";
          if (str(title).length > MAX_TITLE || str(body).length > MAX_BODY) {
            return [err(`a notification title may have ${MAX_TITLE} characters and its body ${MAX_BODY}`)];
          }
          if (iconName !== "" && !ICON_NAME.test(iconName)) {
            return [err(`icon ${JSON.stringify(iconName)} is not an icon name (like "dialog-information"); paths are not allowed`)];
          }
          try {
            await context.bus.proxy(Notifications, NotificationsService).call("Notify", context.appName, 0, iconName, str(title), str(body), [], {}, -1);
            return [ok()];
          } catch (error) {
            return [err(`no notification service answered: ${(error as Error).message}`)];
          }
        }),
      },
    },
    {
      interface: `weft:app/clipboard${VERSION}`,
      functions: {
        read: gated(context, "weft:app/clipboard", "read", async () => [await clipboardRead(context.bus)]),
        write: gated(context, "weft:app/clipboard", "write", async ([text]) => [await clipboardWrite(context.bus, str(text))]),
      },
    },
    {
      interface: `weft:app/files${VERSION}`,
      functions: filesFunctions(context),
    },
  ];
}

/**
 * `weft:app/files`: each call goes to weft-file-portal as this session (the portal checks that the caller owns
 * org.weft.Runtime1.S<id>), after the capability check here. The portal resolves the path beneath the root
 * appd granted, and its error message (which names the guest path, never the host path) becomes the guest's.
 */
function filesFunctions(context: HostContext): Record<string, Impl> {
  const files = context.bus.proxy(FilePortal1, FilePortal);
  const session = context.session.sessionId;
  /** One portal call (as this session): its answer, or the guest's error message. */
  const portal = async <T>(call: () => Promise<T>): Promise<{ ok: T } | { error: string }> => {
    try {
      return { ok: await call() };
    } catch (error) {
      if (isBusError(error, ErrorNames.ServiceUnknown) || isBusError(error, ErrorNames.NameHasNoOwner)) {
        return { error: "the file portal is not running in this session" };
      }
      return { error: (error as Error).message };
    }
  };
  const kind = (type: unknown): WitValue => (type === "file" || type === "directory" ? type : "other");
  const define = (fn: string, impl: Impl): [string, Impl] => [fn, gated(context, "weft:app/files", fn, impl)];
  return Object.fromEntries([
    // Contents cross the bus in sealed memfds, never in a message (common/os/sealed-content.ts).
    define("read", async ([path]) => {
      const answer = await portal(() => files.call("Read", session, str(path)));
      if ("error" in answer) return [err(answer.error)];
      try {
        return [ok(takeSealedContent(answer.ok, MAX_PORTAL_CONTENT_BYTES))];
      } catch (error) {
        if (!(error instanceof SealedContentError)) throw error;
        return [err(`the file portal's answer was refused: ${error.message}`)];
      }
    }),
    define("write", async ([path, data]) => {
      const answer = await withSealedContent("weft-files-write", data as Uint8Array, (fd) => portal(() => files.call("Write", session, str(path), fd)));
      return [("error" in answer) ? err(answer.error) : ok()];
    }),
    define("list-dir", async ([path]) => {
      const answer = await portal(() => files.call("List", session, str(path)));
      if ("error" in answer) return [err(answer.error)];
      return [ok(answer.ok.map(([name, type]) => ({ name, kind: kind(type) })))];
    }),
    define("stat", async ([path]) => {
      const answer = await portal(() => files.call("Stat", session, str(path)));
      if ("error" in answer) return [err(answer.error)];
      const [type, size, modifiedMs] = answer.ok;
      return [ok({ kind: kind(type), size: BigInt(size), "modified-ms": BigInt(modifiedMs) })];
    }),
    define("remove", async ([path]) => {
      const answer = await portal(() => files.call("Remove", session, str(path)));
      return [("error" in answer) ? err(answer.error) : ok()];
    }),
    define("mkdir", async ([path]) => {
      const answer = await portal(() => files.call("Mkdir", session, str(path)));
      return [("error" in answer) ? err(answer.error) : ok()];
    }),
  ]);
}
