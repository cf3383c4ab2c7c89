/**
 * org.freedesktop.Notifications (protocol/dbus/org.freedesktop.Notifications.xml): the notifications the shell
 * shows as toasts. Arguments are checked here, at the edge; the open notifications, their owners and their
 * expiry timers live in `NotificationCenter`, which tells the page (through `onShow`/`onClose`) and emits
 * NotificationClosed.
 */

import { Notifications, NotificationsService, type MethodsOf } from "../../protocol/dbus/index.ts";
import { busError, type BusConnection, type CallContext, type Served } from "../common/bus/index.ts";
import type { Logger } from "../common/daemon/log.ts";

export const LIMITS = {
  appName: 256,
  appIcon: 1024,
  summary: 1024,
  body: 8192,
  actions: 64,
  action: 256,
  hints: 64,
  open: 128,
} as const;

/** -1 in Notify's expire_timeout: how long a toast stays. */
export const DEFAULT_EXPIRE_MS = 5_000;

export const CloseReason = { Expired: 1, Dismissed: 2, Closed: 3, Other: 4 } as const;

/** What the page shows for one notification. */
export interface ShownNotification {
  id: number;
  appName: string;
  summary: string;
  body: string;
}

interface OpenNotification extends ShownNotification {
  owner: string;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Control characters other than newline and tab become spaces (the page shows text only, never markup). */
function plain(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
}

function invalid(message: string): never {
  throw busError(Notifications, "InvalidArgs", message);
}

function limit(what: string, value: string, max: number): void {
  if (value.length > max) invalid(`${what} has ${value.length} characters; at most ${max} are shown`);
}

export interface NotificationCenterOptions {
  log: Logger;
  onShow: (notification: ShownNotification) => void;
  onClose: (id: number) => void;
  defaultExpireMs?: number;
}

export class NotificationCenter {
  readonly #open = new Map<number, OpenNotification>();
  readonly #options: NotificationCenterOptions;
  #nextId = 1;
  #service: Served<typeof Notifications> | undefined;

  constructor(options: NotificationCenterOptions) {
    this.#options = options;
  }

  /** Exports the interface at /org/freedesktop/Notifications on `bus` (the name is requested by the caller). */
  export(bus: BusConnection): Served<typeof Notifications> {
    this.#service = bus.serve(Notifications, NotificationsService.path, {
      methods: {
        Notify: (args, ctx) => this.#notify(args, ctx),
        CloseNotification: ([id], ctx) => this.#closeBy(id, ctx.sender),
        GetCapabilities: () => ["body"],
        GetServerInformation: () => ["WEFT Shell", "WEFT", "0.1.0", "1.2"],
      },
    }, { maxStringLength: 64 * 1024 }); // above every limit, so the handler names what was too long
    return this.#service;
  }

  /** The notifications shown now, oldest first. */
  list(): ShownNotification[] {
    return [...this.#open.values()].map(({ id, appName, summary, body }) => ({ id, appName, summary, body }));
  }

  #notify([appName, replacesId, appIcon, summary, body, actions, hints, expireTimeout]: MethodsOf<typeof Notifications>["Notify"]["in"], ctx: CallContext): number {
    limit("app_name", appName, LIMITS.appName);
    limit("app_icon", appIcon, LIMITS.appIcon);
    limit("summary", summary, LIMITS.summary);
    limit("body", body, LIMITS.body);
    if (actions.length > LIMITS.actions) invalid(`${actions.length} actions; at most ${LIMITS.actions}`);
    for (const action of actions) limit("an action", action, LIMITS.action);
    if (actions.length % 2 !== 0) invalid("actions come in pairs (identifier, label)");
    if (Object.keys(hints).length > LIMITS.hints) invalid(`${Object.keys(hints).length} hints; at most ${LIMITS.hints}`);
    if (expireTimeout < -1) invalid(`expire_timeout ${expireTimeout} is below -1: use -1 (default), 0 (never) or milliseconds`);

    // Only the sender of a notification may replace it; anyone else gets a new one.
    const replaced = replacesId !== 0 ? this.#open.get(replacesId) : undefined;
    const id = replaced !== undefined && replaced.owner === ctx.sender ? replaced.id : this.#allocateId();
    if (replaced !== undefined && replaced.id === id) clearTimeout(replaced.timer);
    else this.#makeRoom();
    const notification: OpenNotification = {
      id,
      owner: ctx.sender,
      appName: plain(appName),
      summary: plain(summary),
      body: plain(body),
      timer: undefined,
    };
    const expireMs = expireTimeout === -1 ? (this.#options.defaultExpireMs ?? DEFAULT_EXPIRE_MS) : expireTimeout;
    if (expireMs > 0) notification.timer = setTimeout(() => this.close(id, CloseReason.Expired), expireMs);
    this.#open.set(id, notification);
    ctx.log.info("notification", { id, app: notification.appName.slice(0, 64), replaced: replaced?.id === id });
    this.#options.onShow({ id, appName: notification.appName, summary: notification.summary, body: notification.body });
    return id;
  }

  #allocateId(): number {
    // Ids are u32 and never 0; after 2^32 - 1 they wrap, skipping ones still open.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
      if (!this.#open.has(id)) return id;
    }
  }

  #makeRoom(): void {
    while (this.#open.size >= LIMITS.open) {
      const oldest = this.#open.keys().next().value as number;
      this.close(oldest, CloseReason.Other);
    }
  }

  #closeBy(id: number, sender: string): void {
    const notification = this.#open.get(id);
    if (notification === undefined || notification.owner !== sender) {
      throw busError(Notifications, "NotFound", `notification ${id} is not open, or was not sent by this connection`);
    }
    this.close(id, CloseReason.Closed);
  }

  /** Closes `id` (if open): the page drops its toast, NotificationClosed goes out. Returns whether it was open. */
  close(id: number, reason: number): boolean {
    const notification = this.#open.get(id);
    if (notification === undefined) return false;
    clearTimeout(notification.timer);
    this.#open.delete(id);
    this.#options.onClose(id);
    this.#service?.emit("NotificationClosed", id, reason);
    return true;
  }

  /** Closes every notification (the shell is stopping). */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.close(id, CloseReason.Other);
  }
}
