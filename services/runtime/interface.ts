/**
 * The runtime's D-Bus surface, `org.weft.Runtime1` (protocol/dbus/org.weft.Runtime1.xml): thin handlers
 * that hand each request, with the caller's unique name from the bus, to the session.
 */

import { Runtime, Runtime1 } from "../../protocol/dbus/index.ts";
import { busError, type BusConnection, type Served } from "../common/bus/index.ts";
import { SessionRefusal, type RuntimeSession, type SessionOutputs, type SessionState } from "./session.ts";

function refused(error: unknown): never {
  if (error instanceof SessionRefusal) throw busError(Runtime1, error.errorName, error.message);
  throw error;
}

/**
 * The session's outputs on the bus. Created before the service is exported (the session needs it first), so
 * the exported service is attached afterwards; nothing is emitted before then because the guest starts later.
 */
export class BusOutputs implements SessionOutputs {
  service: Served<typeof Runtime1> | undefined;

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
export function exportRuntime(bus: BusConnection, session: RuntimeSession, stop: (reason: string) => void): Served<typeof Runtime1> {
  const answer = (work: () => void) => {
    try {
      work();
    } catch (error) {
      refused(error);
    }
  };
  return bus.serve(Runtime1, Runtime.path, {
    methods: {
      BindUi: ([uniqueName], ctx) => answer(() => session.bindUi(ctx.sender, uniqueName)),
      Post: ([payload], ctx) => answer(() => session.post(ctx.sender, payload)),
      Stop: ([reason], ctx) => {
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
