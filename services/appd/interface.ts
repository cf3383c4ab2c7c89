/**
 * appd's D-Bus surface: `org.weft.AppD1` at /org/weft/AppD1 (protocol/dbus/org.weft.AppD1.xml) and one
 * `org.weft.AppD1.Session` object per session (protocol/dbus/org.weft.AppD1.Session.xml). Thin: arguments are
 * validated here, at the edge, and the caller comes from the bus; the work is the Supervisor's.
 */

import { busError, requireSameUid, contractPath, objectPathForName, type BusConnection, type ExportedService } from "../common/bus/index.ts";
import { LaunchOptionsError, parseLaunchOptions } from "./options.ts";
import type { Session } from "./session.ts";
import { AppdError, type Supervisor } from "./supervisor.ts";
import { SHELL_NAME } from "../shell/interface.ts";

export const APPD_INTERFACE = "org.weft.AppD1";
export const APPD_PATH = objectPathForName(APPD_INTERFACE);
export const SESSION_INTERFACE = "org.weft.AppD1.Session";

function refused(error: unknown): never {
  if (error instanceof AppdError) throw busError(APPD_INTERFACE, error.errorName, error.message);
  if (error instanceof LaunchOptionsError) throw busError(APPD_INTERFACE, "InvalidArgs", error.message);
  throw error;
}

/** The session objects and the manager's signal, kept in step with the sessions. */
export class SessionObjects {
  manager: ExportedService | undefined;
  readonly #objects = new Map<bigint, ExportedService>();

  constructor(private readonly bus: BusConnection) {}

  added(session: Session): void {
    this.#objects.set(
      session.id,
      this.bus.exportService(contractPath(SESSION_INTERFACE), session.path, {
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

  removed(session: Session): void {
    this.#objects.get(session.id)?.unexport();
    this.#objects.delete(session.id);
  }

  stateChanged(session: Session, reason: string): void {
    this.manager?.emit("SessionStateChanged", session.id, session.state, reason);
  }

  propertiesChanged(session: Session, changed: Record<string, unknown>): void {
    this.#objects.get(session.id)?.propertiesChanged(changed);
  }

  unexportAll(): void {
    for (const object of this.#objects.values()) object.unexport();
    this.#objects.clear();
  }
}

export function exportAppd(bus: BusConnection, supervisor: Supervisor, objects: SessionObjects): ExportedService {
  const manager = bus.exportService(contractPath(APPD_INTERFACE), APPD_PATH, {
    methods: {
      Launch: async ([appId, rawOptions]: [string, Record<string, unknown>], ctx) => {
        try {
          await requireSameUid(ctx, APPD_INTERFACE);
          const options = parseLaunchOptions(rawOptions);
          const session = await supervisor.launch(appId, options, ctx.sender);
          return [session.id, session.path];
        } catch (error) {
          refused(error);
        }
      },
      Terminate: async ([sessionId]: [bigint], ctx) => {
        try {
          await requireSameUid(ctx, APPD_INTERFACE);
          const shell = await bus.nameOwner(SHELL_NAME).catch(() => undefined);
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
