/**
 * The desktop: keeps the system UI page in sync with appd (installed apps, sessions) and the compositor (focus,
 * windows), turns the page's requests into D-Bus calls after checking them, and passes on gestures and
 * notifications.
 *
 * Page → shell messages (JSON text through the weftShellSend binding, page.ts), each checked against
 * `PageMessageSchema` (unknown types, extra keys, bad ids are dropped and logged):
 *
 *   {type:"hello"}                          the page (re)loaded: send it everything
 *   {type:"launch", appId}                  AppD1.Launch(appId, {}) for an installed app
 *   {type:"terminate", sessionId}           AppD1.Terminate (session ids as decimal strings: u64)
 *   {type:"focus", sessionId}               Compositor1.FocusSession
 *   {type:"home"}                           Compositor1.FocusSession(0)
 *   {type:"launcher", open}                 the page opened/closed its launcher (opening goes home, refreshes apps)
 *   {type:"dismiss", id}                    the user closed notification toast `id`
 *
 * Shell → page messages (page.ts `send`):
 *
 *   {type:"state", apps:[{id,name,version}], sessions:[{id,appId,state,hasWindow}], focused}
 *   {type:"launcher", open}   {type:"gesture", gesture, fingers, dx, dy}
 *   {type:"notification", id, appName, summary, body}   {type:"notification-closed", id}
 *   {type:"toast", text}       a message of the shell's own (an app is ready, a launch failed)
 */

import * as v from "valibot";
import { isValidAppId } from "../../protocol/app-id.ts";
import { AppD, AppD1, Compositor, Compositor1, windowRows } from "../../protocol/dbus/index.ts";
import { isBusError, type BusConnection, type BusProxy, type Subscription } from "../common/bus/index.ts";
import type { Logger } from "../common/daemon/log.ts";
import type { NotificationCenter, ShownNotification } from "./notifications.ts";
import type { PanelEvent } from "./panel.ts";


/** Longer than any launch appd allows (its limits go up to an hour per phase). */
const LAUNCH_CALL_TIMEOUT_MS = 2 * 3_600_000 + 60_000;

const MAX_U64 = (1n << 64n) - 1n;
const SessionIdSchema = v.pipe(
  v.string(),
  v.regex(/^[1-9][0-9]{0,19}$/),
  v.transform((text) => BigInt(text)),
  v.check((id) => id <= MAX_U64),
);

export const PageMessageSchema = v.variant("type", [
  v.strictObject({ type: v.literal("hello") }),
  v.strictObject({ type: v.literal("launch"), appId: v.pipe(v.string(), v.check(isValidAppId)) }),
  v.strictObject({ type: v.literal("terminate"), sessionId: SessionIdSchema }),
  v.strictObject({ type: v.literal("focus"), sessionId: SessionIdSchema }),
  v.strictObject({ type: v.literal("home") }),
  v.strictObject({ type: v.literal("launcher"), open: v.boolean() }),
  v.strictObject({ type: v.literal("dismiss"), id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffffff)) }),
]);
export type PageMessage = v.InferOutput<typeof PageMessageSchema>;

/** Parses and checks one page message; undefined (and the reason) when it is not one. */
export function parsePageMessage(payload: string): { message?: PageMessage; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { problem: "not JSON" };
  }
  const parsed = v.safeParse(PageMessageSchema, value);
  if (!parsed.success) return { problem: parsed.issues.map((issue) => issue.message).join("; ").slice(0, 300) };
  return { message: parsed.output };
}

interface SessionRow {
  id: bigint;
  appId: string;
  state: string;
}

/** What the desktop needs from the page (page.ts ShellPage; a plain object in unit tests). */
export interface PageSink {
  send(message: unknown): void;
}

export class Desktop {
  readonly #log: Logger;
  readonly #page: PageSink;
  readonly #notifications: NotificationCenter;
  readonly #appd: BusProxy<typeof AppD1>;
  readonly #compositor: BusProxy<typeof Compositor1>;
  readonly #subscriptions: Subscription[] = [];
  #apps: { id: string; name: string; version: string }[] = [];
  #sessions: SessionRow[] = [];
  /** Compositor window id → session, for the windows mapped now. */
  readonly #windows = new Map<number, bigint>();
  #focused = 0n;
  #launcherOpen = false;

  constructor(bus: BusConnection, page: PageSink, notifications: NotificationCenter, log: Logger) {
    this.#page = page;
    this.#notifications = notifications;
    this.#log = log;
    this.#appd = bus.proxy(AppD1, AppD);
    this.#compositor = bus.proxy(Compositor1, Compositor);
  }

  /** Subscribes to appd's and the compositor's signals and reads the current state. */
  async start(): Promise<void> {
    this.#subscriptions.push(
      await this.#appd.on("SessionStateChanged", (id, state) => this.#sessionChanged(id, state)),
      await this.#compositor.on("FocusChanged", (_window, session) => {
        this.#focused = session;
        this.#pushState();
      }),
      await this.#compositor.on("WindowMapped", (window, session) => {
        this.#windows.set(window, session);
        this.#pushState();
      }),
      await this.#compositor.on("WindowClosed", (window) => {
        this.#windows.delete(window);
        this.#pushState();
      }),
    );
    await this.#refreshWindows();
    await this.refresh();
  }

  async stop(): Promise<void> {
    for (const subscription of this.#subscriptions.splice(0)) await subscription.close().catch(() => {});
  }

  /** Reads installed apps and sessions from appd (none while appd is not there) and sends the page its state. */
  async refresh(): Promise<void> {
    try {
      const apps = await this.#appd.call("ListInstalledApps");
      this.#apps = apps.map(([id, name, version]) => ({ id, name, version }));
      const sessions = await this.#appd.call("ListSessions");
      this.#sessions = sessions.map(([id, appId, state]) => ({ id, appId, state }));
    } catch (error) {
      this.#log.warn("cannot read apps and sessions from appd", { error: String((error as Error).message ?? error) });
    }
    this.#pushState();
  }

  async #refreshWindows(): Promise<void> {
    try {
      const windows = windowRows(await this.#compositor.call("ListWindows"));
      this.#windows.clear();
      for (const window of windows) {
        this.#windows.set(window.id, window.session);
        if (window.focused) this.#focused = window.session;
      }
    } catch (error) {
      this.#log.warn("cannot list the compositor's windows", { error: String(error) });
    }
  }

  #pushState(): void {
    const withWindows = new Set(this.#windows.values());
    this.#page.send({
      type: "state",
      apps: this.#apps,
      sessions: this.#sessions
        .filter((s) => s.state !== "stopped")
        .map((s) => ({ id: String(s.id), appId: s.appId, state: s.state, hasWindow: withWindows.has(s.id) })),
      focused: String(this.#focused),
      launcherOpen: this.#launcherOpen,
    });
  }

  #sessionChanged(id: bigint, state: string): void {
    const known = this.#sessions.find((s) => s.id === id);
    if (known === undefined) {
      void this.refresh(); // a session we have not seen: appd knows its app id
      return;
    }
    known.state = state;
    if (state === "running") this.#page.send({ type: "toast", text: `${this.#appName(known.appId)} is ready` });
    if (state === "stopped") this.#sessions = this.#sessions.filter((s) => s.id !== id);
    this.#pushState();
  }

  #appName(appId: string): string {
    return this.#apps.find((a) => a.id === appId)?.name ?? appId.split(".").at(-1) ?? appId;
  }

  /** One message from the page (page.ts): checked, then acted on. */
  handlePageMessage(payload: string): void {
    const { message, problem } = parsePageMessage(payload);
    if (message === undefined) {
      this.#log.warn("ignored a page message", { problem, payload: payload.slice(0, 200) });
      return;
    }
    void this.#act(message).catch((error) => {
      this.#log.warn("a page request failed", { type: message.type, error: String((error as Error).message ?? error) });
      this.#page.send({ type: "toast", text: this.#describeFailure(message, error) });
    });
  }

  async #act(message: PageMessage): Promise<void> {
    switch (message.type) {
      case "hello":
        for (const notification of this.#notifications.list()) this.showNotification(notification);
        await this.refresh();
        return;
      case "launch": {
        this.setLauncher(false);
        this.#log.info("launching", { app: message.appId });
        // appd bounds a launch itself (its ready and window limits, raised on slow machines: docs/appd.md); this
        // timeout only guards against an appd that never answers.
        const [id] = await this.#appd.callWith({ timeoutMs: LAUNCH_CALL_TIMEOUT_MS }, "Launch", message.appId, {});
        this.#log.info("launched", { app: message.appId, session: String(id) });
        await this.refresh();
        return;
      }
      case "terminate":
        this.#log.info("terminating", { session: String(message.sessionId) });
        await this.#appd.callWith({ timeoutMs: 30_000 }, "Terminate", message.sessionId);
        await this.refresh();
        return;
      case "focus":
        this.setLauncher(false);
        await this.#compositor.call("FocusSession", message.sessionId);
        return;
      case "home":
        this.setLauncher(false);
        await this.goHome();
        return;
      case "launcher":
        this.#launcherOpen = message.open;
        if (message.open) {
          await this.goHome();
          await this.refresh();
        }
        return;
      case "dismiss":
        this.#notifications.close(message.id, 2);
        return;
    }
  }

  #describeFailure(message: PageMessage, error: unknown): string {
    const reason = isBusError(error) ? error.message : "an internal error";
    switch (message.type) {
      case "launch":
        return `Could not start ${this.#appName(message.appId)}: ${reason}`;
      case "terminate":
        return `Could not stop session ${message.sessionId}: ${reason}`;
      case "focus":
        return `Cannot show session ${message.sessionId}: ${reason}`;
      default:
        return `Something went wrong: ${reason}`;
    }
  }

  /** Shows the shell's page (home): the shown session's windows step aside. */
  async goHome(): Promise<void> {
    await this.#compositor.call("FocusSession", 0n);
  }

  /** Opens or closes the launcher on the page (Shell1, gestures); opening goes home and refreshes the apps. */
  setLauncher(open: boolean): void {
    this.#launcherOpen = open;
    this.#page.send({ type: "launcher", open });
  }

  async openLauncher(): Promise<void> {
    this.setLauncher(true);
    await this.goHome().catch((error) => this.#log.warn("cannot go home", { error: String(error) }));
    await this.refresh();
  }

  /** weft-panel's events: gestures go to the page, which decides (swipe up: launcher, swipe down: home). */
  panelEvent(event: PanelEvent): void {
    if (event.event === "navigation_gesture") {
      this.#page.send({ type: "gesture", gesture: event.type, fingers: event.fingers, dx: event.dx, dy: event.dy });
    } else if (event.event === "configure") {
      this.#log.info("taskbar strip reserved", { x: event.x, y: event.y, width: event.width, height: event.height });
    }
  }

  showNotification(notification: ShownNotification): void {
    this.#page.send({ type: "notification", ...notification });
  }

  notificationClosed(id: number): void {
    this.#page.send({ type: "notification-closed", id });
  }
}
