/**
 * One app session as the runtime sees it: its state, its two privileged peers, and the IPC queues between the
 * guest and the UI end.
 *
 *   starting ──guest calls notify.ready()──► running ──guest ends / Stop / supervisor leaves──► exited
 *       └────────────────────────guest ends before ready────────────────────────────────────────┘
 *
 *   UI end ──Post──► inbound (≤ 64) ──ipc.recv()──► guest          (recv never blocks: none when empty)
 *                                   ──ipc.recv-wait(t)──► guest   (answers the moment a Post arrives, or none after t)
 *   guest ──ipc.send()──► Message signal, unicast to the UI end    (held, ≤ 256, until a UI end is bound)
 *
 * Peers are unique bus names, which the bus assigns and never reuses: the supervisor comes from the command
 * line, the UI end from the supervisor's BindUi. Nobody else can post to this session or see its messages.
 */

import type { Logger } from "../common/log.ts";

export type SessionState = "starting" | "running" | "exited";

/** Unread messages for the guest; the reference relay's queue size (SPEC 2.2.5). */
export const MAX_INBOUND = 64;
/** Messages from the guest waiting for a UI end to be bound. */
export const MAX_HELD_OUTBOUND = 256;
/** Longest `recv-wait` a guest may ask for; it calls again after a timeout. */
export const MAX_RECV_WAIT_MS = 60_000;
/** Largest IPC payload in either direction, in UTF-16 units. */
export const MAX_PAYLOAD_LENGTH = 1024 * 1024;

/** Where the session's effects go: D-Bus signals and properties in production, recorders in tests. */
export interface SessionOutputs {
  message(uiEnd: string, payload: string): void;
  ready(): void;
  stateChanged(state: SessionState): void;
}

/** A refusal of a peer's request; `name` becomes `org.weft.Runtime1.Error.<name>`. */
export class SessionRefusal extends Error {
  constructor(
    readonly errorName: "AccessDenied" | "QueueFull" | "InvalidArgs" | "NotRunning",
    message: string,
  ) {
    super(message);
    this.name = "SessionRefusal";
  }
}

export class RuntimeSession {
  #state: SessionState = "starting";
  #uiEnd: string | undefined;
  readonly #inbound: string[] = [];
  readonly #heldOutbound: string[] = [];
  /** The guest's pending `recv-wait`, if any (the guest is one thread: at most one). */
  #waiter: ((message: string | undefined) => void) | undefined;
  readonly #outputs: SessionOutputs;
  readonly #log: Logger;

  constructor(
    readonly appId: string,
    readonly sessionId: bigint,
    readonly supervisor: string,
    readonly grantedCapabilities: readonly string[],
    outputs: SessionOutputs,
    log: Logger,
  ) {
    this.#outputs = outputs;
    this.#log = log;
  }

  get state(): SessionState {
    return this.#state;
  }

  get uiEnd(): string | undefined {
    return this.#uiEnd;
  }

  // --- requests from bus peers ------------------------------------------------------------------------

  bindUi(caller: string, uniqueName: string): void {
    this.#requireSupervisor(caller, "BindUi");
    if (!/^:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(uniqueName) || uniqueName.length > 255) {
      throw new SessionRefusal("InvalidArgs", `${JSON.stringify(uniqueName)} is not a unique bus name like :1.42`);
    }
    this.#uiEnd = uniqueName;
    this.#log.info("ui end bound", { ui: uniqueName });
    for (const payload of this.#heldOutbound.splice(0)) this.#outputs.message(uniqueName, payload);
  }

  post(caller: string, payload: string): void {
    if (this.#uiEnd === undefined || caller !== this.#uiEnd) {
      this.#log.warn("post refused: caller is not the ui end", { caller });
      throw new SessionRefusal("AccessDenied", "only this session's UI end may post to it");
    }
    if (this.#state === "exited") throw new SessionRefusal("NotRunning", "the app has exited");
    if (payload.length > MAX_PAYLOAD_LENGTH) {
      throw new SessionRefusal("InvalidArgs", `a message may be at most ${MAX_PAYLOAD_LENGTH} characters`);
    }
    if (this.#inbound.length >= MAX_INBOUND) {
      throw new SessionRefusal("QueueFull", `the app has ${MAX_INBOUND} unread messages; retry once it has read some`);
    }
    this.#inbound.push(payload);
    this.#wakeWaiter();
  }

  /** Whether `caller` may stop the session; Stop itself is carried out by the owner of the guest. */
  authorizeStop(caller: string): void {
    this.#requireSupervisor(caller, "Stop");
  }

  /** A peer left the bus: the UI end is unbound (messages are held again), nothing else changes. */
  peerLeft(uniqueName: string): void {
    if (uniqueName === this.#uiEnd) {
      this.#uiEnd = undefined;
      this.#log.info("ui end left the bus", { ui: uniqueName });
    }
  }

  // --- calls from the guest ---------------------------------------------------------------------------

  guestReady(): void {
    if (this.#state !== "starting") return; // ready may be called again; only the first one counts
    this.#setState("running");
    this.#outputs.ready();
  }

  /** `ipc.send`: the error string is what the guest's `result<_, string>` carries. */
  guestSend(payload: string): { ok: true } | { ok: false; error: string } {
    if (payload.length > MAX_PAYLOAD_LENGTH) return { ok: false, error: `a message may be at most ${MAX_PAYLOAD_LENGTH} characters` };
    if (this.#uiEnd !== undefined) {
      this.#outputs.message(this.#uiEnd, payload);
      return { ok: true };
    }
    if (this.#heldOutbound.length >= MAX_HELD_OUTBOUND) {
      return { ok: false, error: `no UI is attached and ${MAX_HELD_OUTBOUND} messages are already waiting for one` };
    }
    this.#heldOutbound.push(payload);
    return { ok: true };
  }

  /** `ipc.recv`: the oldest unread message, or undefined; never waits (reference semantics). */
  guestRecv(): string | undefined {
    return this.#inbound.shift();
  }

  /**
   * `ipc.recv-wait`: the oldest unread message as soon as there is one, or undefined after `timeoutMs`
   * (capped at MAX_RECV_WAIT_MS). The guest's thread waits; this process's event loop does not.
   */
  guestRecvWait(timeoutMs: number): Promise<string | undefined> {
    const waiting = this.#inbound.shift();
    if (waiting !== undefined || this.#state === "exited") return Promise.resolve(waiting);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#settleWaiter(undefined), Math.min(Math.max(0, timeoutMs), MAX_RECV_WAIT_MS));
      this.#waiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }

  exited(): void {
    this.#setState("exited");
    this.#settleWaiter(undefined);
  }

  #wakeWaiter(): void {
    if (this.#waiter !== undefined) this.#settleWaiter(this.#inbound.shift());
  }

  #settleWaiter(message: string | undefined): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(message);
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#log.info("session state", { state });
    this.#outputs.stateChanged(state);
  }

  #requireSupervisor(caller: string, method: string): void {
    if (caller !== this.supervisor) {
      this.#log.warn(`${method} refused: caller is not the supervisor`, { caller });
      throw new SessionRefusal("AccessDenied", `only the process that started this session may call ${method}`);
    }
  }
}
