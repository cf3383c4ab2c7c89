/**
 * appd's D-Bus surface: `org.weft.AppD1` at /org/weft/AppD1 (protocol/dbus/org.weft.AppD1.xml) and one
 * `org.weft.AppD1.Session` object per session (protocol/dbus/org.weft.AppD1.Session.xml). Thin: arguments are
 * validated here, at the edge, and the caller comes from the bus; the work is the Supervisor's.
 */

import { AppD, AppD1, AppD1Session, Shell, type PropertiesOf } from "../../protocol/dbus/index.ts";
import { busError, requireSameUid, type BusConnection, type Served } from "../common/bus/index.ts";
import { LaunchOptionsError, parseLaunchOptions } from "./options.ts";
import type { AppSession } from "./app-session.ts";
import { AppdError, type Supervisor } from "./supervisor.ts";

function refused(error: unknown): never {
  if (error instanceof AppdError) throw busError(AppD1, error.errorName, error.message);
  if (error instanceof LaunchOptionsError) throw busError(AppD1, "InvalidArgs", error.message);
  throw error;
}

/** The session objects and the manager's signal, kept in step with the sessions. */
export class SessionObjects {
  manager: Served<typeof AppD1> | undefined;
  readonly #objects = new Map<bigint, Served<typeof AppD1Session>>();

  constructor(private readonly bus: BusConnection) {}

  added(session: AppSession): void {
    this.#objects.set(
      session.id,
      this.bus.serve(AppD1Session, session.path, {
        methods: {},
        properties: {
          SessionId: { get: () => session.id },
          AppId: { get: () => session.appId },
          State: { get: () => session.state },
          ExitReason: { get: () => session.exitReason },
          RuntimeBusName: { get: () => session.runtimeBusName },
          RuntimePid: { get: () => session.runtimePid },
          UiPid: { get: () => session.uiPid },
          Headless: { get: () => session.headless },
          GrantedCapabilities: { get: () => [...session.grantedCapabilities] },
          UnitName: { get: () => session.unitName },
          StartedAt: { get: () => session.startedAt },
          StoppedAt: { get: () => session.stoppedAt },
        },
      }),
    );
  }

  removed(session: AppSession): void {
    this.#objects.get(session.id)?.unexport();
    this.#objects.delete(session.id);
  }

  stateChanged(session: AppSession, reason: string): void {
    this.manager?.emit("SessionStateChanged", session.id, session.state, reason);
  }

  propertiesChanged(session: AppSession, changed: Partial<PropertiesOf<typeof AppD1Session>>): void {
    this.#objects.get(session.id)?.propertiesChanged(changed);
  }

  unexportAll(): void {
    for (const object of this.#objects.values()) object.unexport();
    this.#objects.clear();
  }
}

export function exportAppd(bus: BusConnection, supervisor: Supervisor, objects: SessionObjects): Served<typeof AppD1> {
  const manager = bus.serve(AppD1, AppD.path, {
    methods: {
      Launch: async ([appId, rawOptions], ctx) => {
        try {
          await requireSameUid(ctx, AppD1);
          const options = parseLaunchOptions(rawOptions);
          const session = await supervisor.launch(appId, options, ctx.sender);
          return [session.id, session.path] as [bigint, string];
        } catch (error) {
          refused(error);
        }
      },
      Terminate: async ([sessionId], ctx) => {
        try {
          await requireSameUid(ctx, AppD1);
          const shell = await bus.nameOwner(Shell.busName).catch(() => undefined);
          await supervisor.terminate(sessionId, ctx.sender, { shell });
        } catch (error) {
          refused(error);
        }
      },
      ListSessions: () => [...supervisor.sessions.values()].map((s) => [s.id, s.appId, s.state, s.path]),
      ListInstalledApps: () => supervisor.listInstalled(),
    },
  });
  objects.manager = manager;
  return manager;
}
