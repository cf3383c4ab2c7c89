/**
 * The session registry and the launch procedure. appd's own bus connection is every runtime's supervisor
 * (only it may bind a UI end or stop the session), and the runtime exits by itself when that connection
 * leaves the bus, so a crashed appd leaves no app running.
 *
 * Launch, in order (each refusal a named error, with nothing registered or started):
 *   1. the app id is valid (app-id.ts) and the session limit not reached;
 *   2. the package is installed, its signature verifies against the trust store, its manifest is valid;
 *      the grants are the manifest's capabilities;
 *   3. a session id whose runtime bus name nobody owns; the session object is exported (`starting`);
 *   4. weft-runtime is spawned with appd as supervisor, then moved into its transient scope when systemd is
 *      on the bus (a scope adopts existing pids);
 *   5. the runtime reports `running` within the ready limit (limits.ts), and the owner of its bus name is that very process;
 *   6. headless: the caller is bound as the UI end (BindUi). Otherwise the runtime was spawned with one end of a
 *      session channel (socketpair), and when the compositor is on the bus, weft-app-shell is spawned with the
 *      other (into the scope too), owns org.weft.AppShell1.S<id> within the window limit, its owner is that very
 *      process, and it is told it is bound (Bound: it says Hello on the channel). Without a compositor the session
 *      runs without a window (logged once), like it runs without a scope when systemd is absent;
 *   7. the session is `running`.
 * A failure after 3 stops the session (it stays visible, `stopped`, with the reason) and is returned.
 */

import { AppShellHandle, RuntimeHandle } from "./children.ts";
import { removeSessionProfiles } from "../common/chromium/profile.ts";
import { AppD1, AppShell, AppShell1, Compositor, FilePortal, FilePortal1, Runtime, Runtime1, type ErrorsOf } from "../../protocol/dbus/index.ts";
import { appIdProblem, type AppId } from "../../protocol/app-id.ts";
import type { BusConnection } from "../common/bus/index.ts";
import { closeFd, makeSocketPair } from "../common/bus/libc.ts";
import type { Logger } from "../common/daemon/log.ts";
import type { Env } from "../common/os/paths.ts";
import { listInstalled } from "../common/package/store.ts";
import { openVerifiedPackage, PackageLoadError, type VerifiedPackage } from "../common/package/verified-package.ts";
import { DEFAULT_LAUNCH_LIMITS, type LaunchLimits } from "./limits.ts";
import type { LaunchOptions } from "./options.ts";
import { portalRoots } from "./portal-grants.ts";
import { AppSession, type AppSessionObserver } from "./app-session.ts";
import { MEMORY_MAX_BYTES, SystemdScopes, UnitError } from "./units.ts";

/** Sessions that are not stopped, at most; a client launching in a loop gets TooManySessions. */
export const MAX_LIVE_SESSIONS = 64;
/** How long a stopped session stays visible (its object, ListSessions) so clients can read why it ended. */
export const STOPPED_RETENTION_MS = 60_000;

/** The names of appd's errors, as protocol/dbus/org.weft.AppD1.xml documents them. */
export type AppdErrorName = ErrorsOf<typeof AppD1>;

/** A refusal with its D-Bus error name (`org.weft.AppD1.Error.<name>`). */
export class AppdError extends Error {
  constructor(
    readonly errorName: AppdErrorName,
    message: string,
  ) {
    super(message);
    this.name = "AppdError";
  }
}

/** appd's error for each reason a package is refused. */
const loadErrors = {
  "not-installed": "NotInstalled",
  "invalid-package": "InvalidPackage",
  unsigned: "Unsigned",
  tampered: "Tampered",
  untrusted: "Untrusted",
  revoked: "Revoked",
  malformed: "MalformedSignature",
} as const;

/** Environment variables meant for appd alone (systemd's protocol with it), never passed to a runtime. */
const NOT_FOR_RUNTIMES = ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"];

export interface SupervisorOptions {
  bus: BusConnection;
  env: Env;
  log: Logger;
  /** How long a launch's phases may take (DEFAULT_LAUNCH_LIMITS when not given). */
  limits?: LaunchLimits;
  /** Told of every session's creation, changes and removal (appd's D-Bus surface). */
  observer: AppSessionObserver & { added(session: AppSession): void; removed(session: AppSession): void };
}

export class Supervisor {
  readonly sessions = new Map<bigint, AppSession>();
  readonly #bus: BusConnection;
  readonly #env: Env;
  readonly #runtimeEnv: Record<string, string>;
  readonly #log: Logger;
  readonly #observer: SupervisorOptions["observer"];
  readonly #scopes: SystemdScopes;
  readonly #limits: LaunchLimits;
  readonly #forgetTimers = new Set<ReturnType<typeof setTimeout>>();
  #nextId = 1n;
  #withoutSystemdLogged = false;
  #withoutCompositorLogged = false;
  #closing = false;

  constructor(options: SupervisorOptions) {
    this.#bus = options.bus;
    this.#env = options.env;
    this.#log = options.log;
    this.#observer = options.observer;
    this.#scopes = new SystemdScopes(options.bus);
    this.#limits = options.limits ?? DEFAULT_LAUNCH_LIMITS;
    const runtimeEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.env)) {
      if (value !== undefined && !NOT_FOR_RUNTIMES.includes(key)) runtimeEnv[key] = value;
    }
    runtimeEnv.WEFT_BUS_ADDRESS = options.bus.address; // the runtime must be on appd's bus, however appd found it
    this.#runtimeEnv = runtimeEnv;
  }

  /**
   * Listens for the runtimes' Exited signals (they say why a guest ended), and resets the failed scopes an earlier
   * appd left (it was killed before it could read how they ended).
   */
  async start(): Promise<void> {
    if (await this.#scopes.available()) {
      const reset = await this.#scopes.resetLeftovers();
      if (reset.length > 0) this.#log.info("reset the failed scopes of sessions an earlier appd left", { units: reset.join(" ") });
    }
    await this.#bus.subscribeSignal({ interface: Runtime1.name, member: "Exited" }, (body, message) => {
      const [status, text] = body as [string, string];
      for (const session of this.sessions.values()) {
        if (session.runtimeUniqueName !== undefined && session.runtimeUniqueName === message.sender) session.runtimeReportedExit(status, text);
      }
    });
  }

  /** Sessions that are not stopped. */
  live(): AppSession[] {
    return [...this.sessions.values()].filter((s) => s.state !== "stopped");
  }

  async launch(appId: string, options: LaunchOptions, caller: string): Promise<AppSession> {
    if (this.#closing) throw new AppdError("StartFailed", "appd is stopping; launch again once it is back");
    const problem = appIdProblem(appId);
    if (problem !== undefined) {
      const shown = appId.length > 64 ? `${appId.slice(0, 64)}…` : appId;
      throw new AppdError("InvalidAppId", `${JSON.stringify(shown)} is not a valid app id: it ${problem}`);
    }
    if (this.live().length >= MAX_LIVE_SESSIONS) {
      throw new AppdError("TooManySessions", `${MAX_LIVE_SESSIONS} sessions are running already: terminate one first`);
    }
    const pkg = await this.#verifiedPackage(appId as AppId);
    const grantedCapabilities = pkg.manifest.package.capabilities.map((c) => c.name);
    const id = await this.#allocateId();
    const session = new AppSession(id, pkg.record.appId, options.headless, grantedCapabilities, this.#observer, this.#scopes, this.#log, MEMORY_MAX_BYTES);
    session.launchedBy = caller;
    this.sessions.set(id, session);
    this.#observer.added(session);
    this.#observer.stateChanged(session, `launched by ${caller}`);
    void session.stopped.then(() => this.#scheduleForget(session));
    this.#log.info("launching", { session: String(id), app: appId, headless: options.headless, caller });

    try {
      await this.#start(session, pkg, caller);
      return session;
    } catch (error) {
      const failure = error instanceof AppdError ? error : new AppdError("StartFailed", (error as Error).message);
      await session.stop(failure.message);
      // A session that ended by itself (or by Terminate) keeps the reason it ended with.
      throw new AppdError(failure.errorName, `session ${id} of ${appId} did not start: ${session.exitReason}`);
    }
  }

  async #start(session: AppSession, pkg: VerifiedPackage, caller: string): Promise<void> {
    await this.#grantPortalRoots(session);
    // A windowed session's page ↔ guest messages go over a channel of its own, never the bus: the runtime gets one
    // end now, the app-shell the other when it is spawned; appd keeps neither.
    const channel = session.headless ? undefined : makeSocketPair();
    try {
      await this.#startWith(session, pkg, caller, channel);
    } finally {
      if (channel !== undefined) for (const fd of channel) closeFd(fd);
    }
  }

  async #startWith(session: AppSession, pkg: VerifiedPackage, caller: string, channel: [number, number] | undefined): Promise<void> {
    const runtime = new RuntimeHandle({
      package: pkg,
      sessionId: session.id,
      supervisor: this.#bus,
      env: this.#runtimeEnv,
      channelFd: channel?.[0],
      onLogLine: (line) => process.stderr.write(line + "\n"),
    });
    session.attachRuntime(runtime);

    if (await this.#scopes.available()) {
      try {
        session.setUnit(await this.#scopes.startScope(session.appId, session.id, runtime.process.pid));
      } catch (error) {
        throw error instanceof UnitError ? new AppdError("UnitFailed", error.message) : error;
      }
    } else if (!this.#withoutSystemdLogged) {
      this.#withoutSystemdLogged = true;
      this.#log.info("systemd is not on the bus: sessions run without a transient scope (no CPU or memory limits)");
    }

    try {
      await runtime.waitForState("running", this.#limits.readyMs);
    } catch (error) {
      if (session.ended) throw new AppdError("StartFailed", "it ended while starting");
      if (runtime.process.exitCode === null) throw new AppdError("StartFailed", `the app did not report ready within ${this.#limits.readyMs / 1000} s`);
      throw error;
    }
    session.runtimeUniqueName = await this.#verifiedRuntimeOwner(session, runtime);
    if (channel === undefined) await runtime.client.call("BindUi", caller);
    else if (await this.#bus.nameHasOwner(Compositor.busName)) await this.#startUi(session, pkg, channel[1]);
    else if (!this.#withoutCompositorLogged) {
      this.#withoutCompositorLogged = true;
      this.#log.info("the compositor is not on the bus: sessions run without a window (their messages are held for a UI end)");
    }
    session.markRunning();
    if (session.ended) throw new AppdError("StartFailed", "it ended while starting");
  }

  /**
   * Spawns the session's weft-app-shell with its end of the session channel, waits until it shows the page and
   * owns its name, checks that owner is the process spawned here (anyone may own a name), and tells it it is bound:
   * it then says Hello on the channel, and the runtime delivers to it.
   */
  async #startUi(session: AppSession, pkg: VerifiedPackage, channelFd: number): Promise<void> {
    const ui = new AppShellHandle({
      package: pkg,
      sessionId: session.id,
      supervisor: this.#bus,
      env: this.#runtimeEnv,
      channelFd,
      onLogLine: (line) => process.stderr.write(line + "\n"),
    });
    session.attachUi(ui, () => removeSessionProfiles(session.id, this.#env));
    if (session.unitName !== "") {
      try {
        await this.#scopes.attach(session.unitName, ui.process.pid);
      } catch (error) {
        throw error instanceof UnitError ? new AppdError("UnitFailed", error.message) : error;
      }
    }
    let owner: string;
    try {
      owner = await ui.waitForReady(this.#limits.windowMs);
    } catch (error) {
      if (session.ended) throw new AppdError("StartFailed", "it ended while starting");
      throw new AppdError("StartFailed", (error as Error).message);
    }
    const credentials = await this.#bus.credentials(owner);
    if (credentials.pid !== ui.process.pid) {
      throw new AppdError("StartFailed", `${ui.busName} is owned by another process (pid ${credentials.pid}), not by the session's weft-app-shell`);
    }
    await this.#bus.proxy(AppShell1, { busName: owner, path: AppShell.path }).call("Bound");
  }

  /**
   * Registers the session's file-portal roots before its runtime starts, and revokes them when it stops. Without
   * a portal on the bus the app's `weft:app/files` calls fail with a clear error; the session still runs.
   */
  async #grantPortalRoots(session: AppSession): Promise<void> {
    const { roots, missing } = portalRoots(session.grantedCapabilities, this.#env);
    for (const source of missing) this.#log.warn("no folder for a granted portal root on this machine", { session: String(session.id), source });
    if (roots.length === 0) return;
    const portal = this.#bus.proxy(FilePortal1, FilePortal);
    try {
      await portal.call("RegisterGrants", session.id, roots);
    } catch (error) {
      this.#log.warn("the file portal did not take the session's roots: its files calls will fail", { session: String(session.id), error: (error as Error).message });
      return;
    }
    void session.stopped.then(() =>
      portal.call("RevokeGrants", session.id).catch((error) =>
        this.#log.warn("could not revoke the session's portal roots", { session: String(session.id), error: (error as Error).message }),
      ),
    );
  }

  /** Anyone may own a name: make sure the one answering as the runtime is the process appd started. */
  async #verifiedRuntimeOwner(session: AppSession, runtime: RuntimeHandle): Promise<string> {
    const owner = await this.#bus.nameOwner(session.runtimeBusName);
    if (owner === undefined) throw new AppdError("StartFailed", `${session.runtimeBusName} has no owner: the runtime left the bus`);
    const credentials = await this.#bus.credentials(owner);
    if (credentials.pid !== runtime.process.pid) {
      throw new AppdError("StartFailed", `${session.runtimeBusName} is owned by another process (pid ${credentials.pid}), not by the session's runtime`);
    }
    return owner;
  }

  /** The package verified once for the whole launch: the children get its record (protocol/package-record.ts). */
  async #verifiedPackage(appId: AppId): Promise<VerifiedPackage> {
    try {
      return await openVerifiedPackage(appId, "run", this.#env);
    } catch (error) {
      if (error instanceof PackageLoadError) throw new AppdError(loadErrors[error.reason], error.message);
      throw error;
    }
  }

  /** The next id whose runtime bus name is free: a squatter on `org.weft.Runtime1.S<id>` only costs it an id. */
  async #allocateId(): Promise<bigint> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const id = this.#nextId++;
      if (!(await this.#bus.nameHasOwner(Runtime.busName(id)))) return id;
      this.#log.warn("skipping a session id whose runtime bus name is taken", { session: String(id) });
    }
    throw new AppdError("StartFailed", "no free session id: too many runtime bus names are taken");
  }

  /**
   * Terminate from `caller` (a unique bus name): allowed for the client that launched the session and for the
   * shell (`shell`: the owner of org.weft.Shell1 right now, if any). Anyone else could end a session they never
   * saw, a user's unsaved work included.
   */
  async terminate(id: bigint, caller: string, who: { shell?: string }): Promise<void> {
    const session = this.sessions.get(id);
    if (session === undefined) throw new AppdError("UnknownSession", `there is no session ${id} (ListSessions shows the sessions there are)`);
    const launcher = session.launchedBy === caller;
    const shell = who.shell !== undefined && who.shell === caller;
    if (!launcher && !shell) {
      this.#log.warn("Terminate refused", { session: String(id), caller, launchedBy: session.launchedBy });
      throw new AppdError(
        "AccessDenied",
        `session ${id} may be terminated only by the client that launched it and by the shell (org.weft.Shell1): close it from the taskbar`,
      );
    }
    await session.stop(launcher ? `terminated by its launcher ${caller}` : `terminated from the shell (${caller})`);
  }

  async listInstalled(): Promise<[string, string, string][]> {
    const { packages, problems } = await listInstalled(this.#env);
    for (const problem of problems) this.#log.warn("an installed package cannot be listed", problem);
    return packages.map((p) => [p.id, p.name, p.version]);
  }

  #scheduleForget(session: AppSession): void {
    if (this.#closing) return;
    const timer = setTimeout(() => {
      this.#forgetTimers.delete(timer);
      this.sessions.delete(session.id);
      this.#observer.removed(session);
    }, STOPPED_RETENTION_MS);
    timer.unref();
    this.#forgetTimers.add(timer);
  }

  /** Stops every session (appd is stopping); returns the app ids that were running or starting. */
  async shutdown(reason: string): Promise<string[]> {
    this.#closing = true;
    for (const timer of this.#forgetTimers) clearTimeout(timer);
    this.#forgetTimers.clear();
    const live = this.live();
    await Promise.all(live.map((s) => s.stop(reason)));
    return live.map((s) => s.appId);
  }
}
