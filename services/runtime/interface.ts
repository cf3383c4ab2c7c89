/**
 * The runtime's D-Bus surface, `org.weft.Runtime1` (protocol/dbus/org.weft.Runtime1.xml): thin handlers
 * that hand each request, with the caller's unique name from the bus, to the session.
 */

import { busError, contractPath, objectPathForName, type BusConnection, type ExportedService } from "../common/bus/index.ts";
import { SessionRefusal, type RuntimeSession, type SessionOutputs, type SessionState } from "./session.ts";

export const RUNTIME_INTERFACE = "org.weft.Runtime1";
export const RUNTIME_PATH = objectPathForName(RUNTIME_INTERFACE);

/** The bus name of session `id`'s runtime. */
export function runtimeBusName(sessionId: bigint): string {
  return `${RUNTIME_INTERFACE}.S${sessionId}`;
}

function refused(error: unknown): never {
  if (error instanceof SessionRefusal) throw busError(RUNTIME_INTERFACE, error.errorName, error.message);
  throw error;
}

/**
 * The session's outputs on the bus. Created before the service is exported (the session needs it first), so
 * the exported service is attached afterwards; nothing is emitted before then because the guest starts later.
 */
export class BusOutputs implements SessionOutputs {
  service: ExportedService | undefined;

  message(uiEnd: string, payload: string): void {
    this.service?.emitTo(uiEnd, "Message", payload);
  }

  ready(): void {
    this.service?.emit("Ready");
  }

  stateChanged(state: SessionState): void {
    this.service?.propertiesChanged({ State: state });
  }
}

/** Exports Runtime1 for `session`; `stop` runs once the supervisor's Stop is authorized. */
export function exportRuntime(bus: BusConnection, session: RuntimeSession, stop: (reason: string) => void): ExportedService {
  const answer = (work: () => void) => {
    try {
      work();
    } catch (error) {
      refused(error);
    }
  };
  return bus.exportService(contractPath(RUNTIME_INTERFACE), RUNTIME_PATH, {
    methods: {
      BindUi: ([uniqueName]: [string], ctx) => answer(() => session.bindUi(ctx.sender, uniqueName)),
      Post: ([payload]: [string], ctx) => answer(() => session.post(ctx.sender, payload)),
      Stop: ([reason]: [string], ctx) => {
        answer(() => session.authorizeStop(ctx.sender));
        stop(reason.slice(0, 256));
      },
    },
    properties: {
      AppId: { get: () => session.appId },
      SessionId: { get: () => session.sessionId },
      State: { get: () => session.state },
      GrantedCapabilities: { get: () => [...session.grantedCapabilities] },
    },
  });
}
