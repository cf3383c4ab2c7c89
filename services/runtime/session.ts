/**
 * One app session as the runtime sees it: its state, its two privileged peers, and the IPC queues between the
 * guest and the UI end.
 *
 *   starting ──guest calls notify.ready()──► running ──guest ends / Stop / supervisor leaves──► exited
 *       └────────────────────────guest ends before ready────────────────────────────────────────┘
 *
 *   UI end ──Post──► inbound (≤ 64) ──ipc.recv()──► guest          (recv never blocks: none when empty)
 *                                   ──ipc.recv-wait(t)──► guest   (answers the moment a Post arrives, or none after t)
 *   guest ──ipc.send()──► the UI end                               (held, ≤ 256, while no UI end is attached)
 *
 * The UI end is one of two kinds, fixed when the session starts:
 *   channel   a windowed session's weft-app-shell, on the session channel appd handed to both at spawn
 *             (common/channel/session-channel.ts): attached once it says Hello; its messages never cross the bus;
 *   bus       a headless session's client (a tool, a test), a unique bus name the supervisor binds with BindUi:
 *             Post is a method call, messages are Message signals unicast to it.
 * Stopping: once the session is stopping, the guest is handed no further message; the one it is handling (taken
 * by recv or recv-wait, not yet followed by its next recv or recv-wait) gets up to GUEST_FINISH_GRACE_MS to
 * finish — a save in progress completes — before the owner of the guest interrupts it (main.ts).
 *
 * The supervisor is a unique bus name from the command line. Bus names are assigned by the bus and never reused;
 * the channel's other end is held only by the app-shell appd spawned. Nobody else can post to this session or see
 * its messages.
 */

import { MAX_HELD_OUTBOUND, MAX_INBOUND, MAX_PAYLOAD_LENGTH, MAX_RECV_WAIT_MS } from "../../protocol/limits.ts";
import type { Logger } from "../common/daemon/log.ts";

export type SessionState = "starting" | "running" | "exited";

/** Where the session's effects go: D-Bus signals and properties in production, recorders in tests. */
export interface SessionOutputs {
  /** A guest message for a bus UI end (a unicast Message signal). */
  message(uiEnd: string, payload: string): void;
  ready(): void;
  stateChanged(state: SessionState): void;
}

/** Which kind of UI end the session has: fixed at start by the supervisor (a channel or not). */
export type UiEndKind = "channel" | "bus";

/** The attached UI end: a bus peer, or the channel with the function that sends it a message. */
type UiEnd = { kind: "bus"; name: string } | { kind: "channel"; deliver: (payload: string) => void };

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
  #uiEnd: UiEnd | undefined;
  readonly #inbound: string[] = [];
  readonly #heldOutbound: string[] = [];
  /** The guest's pending `recv-wait`, if any (the guest is one thread: at most one). */
  #waiter: ((message: string | undefined) => void) | undefined;
  /** Whether the guest took a message and has not yet come back for the next one. */
  #handling = false;
  #stopping = false;
  /** Resolvers of stopping(), called when the guest comes back for a message. */
  #betweenMessages: (() => void)[] = [];
  readonly #outputs: SessionOutputs;
  readonly #log: Logger;

  constructor(
    readonly appId: string,
    readonly sessionId: bigint,
    readonly supervisor: string,
    readonly grantedCapabilities: readonly string[],
    outputs: SessionOutputs,
    log: Logger,
    readonly uiEndKind: UiEndKind = "bus",
  ) {
    this.#outputs = outputs;
    this.#log = log;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The bus UI end's unique name, when one is bound. */
  get uiEnd(): string | undefined {
    return this.#uiEnd?.kind === "bus" ? this.#uiEnd.name : undefined;
  }

  /** True while a UI end (of either kind) receives the guest's messages. */
  get uiAttached(): boolean {
    return this.#uiEnd !== undefined;
  }

  // --- requests from bus peers ------------------------------------------------------------------------

  bindUi(caller: string, uniqueName: string): void {
    this.#requireSupervisor(caller, "BindUi");
    if (this.uiEndKind === "channel") {
      throw new SessionRefusal("AccessDenied", "this session's UI end is its session channel; no bus peer can be bound");
    }
    if (!/^:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(uniqueName) || uniqueName.length > 255) {
      throw new SessionRefusal("InvalidArgs", `${JSON.stringify(uniqueName)} is not a unique bus name like :1.42`);
    }
    this.#log.info("ui end bound", { ui: uniqueName });
    this.#attach({ kind: "bus", name: uniqueName });
  }

  post(caller: string, payload: string): void {
    if (this.#uiEnd?.kind !== "bus" || caller !== this.#uiEnd.name) {
      this.#log.warn("post refused: caller is not the ui end", { caller });
      throw new SessionRefusal("AccessDenied", "only this session's UI end may post to it");
    }
    this.#queue(payload);
  }

  // --- the session channel (a windowed session's app-shell) --------------------------------------------

  /** The app-shell said Hello on the channel: it receives the guest's messages from now on, the held ones first. */
  attachChannel(deliver: (payload: string) => void): void {
    if (this.uiEndKind !== "channel") throw new Error("this session was not started with a session channel");
    this.#log.info("ui end attached on the session channel", {});
    this.#attach({ kind: "channel", deliver });
  }

  /** The channel closed (the app-shell is gone): messages are held again. */
  detachChannel(): void {
    if (this.#uiEnd?.kind !== "channel") return;
    this.#uiEnd = undefined;
    this.#log.info("the session channel closed", {});
  }

  /** A Post frame from the channel; refused like a bus Post, and before Hello. */
  postFromChannel(payload: string): void {
    if (this.#uiEnd?.kind !== "channel") throw new SessionRefusal("AccessDenied", "the session channel posts only after Hello");
    this.#queue(payload);
  }

  #queue(payload: string): void {
    if (this.#state === "exited") throw new SessionRefusal("NotRunning", "the app has exited");
    if (payload.length > MAX_PAYLOAD_LENGTH) {
      throw new SessionRefusal("InvalidArgs", `a message may be at most ${MAX_PAYLOAD_LENGTH} characters`);
    }
    if (this.#inbound.length >= MAX_INBOUND) {
      throw new SessionRefusal("QueueFull", `the app has ${MAX_INBOUND} unread messages; retry once it has read some`);
    }
    this.#inbound.push(payload);
    this.#log.debug("message queued", { unread: this.#inbound.length, guestWaiting: this.#waiter !== undefined });
    this.#wakeWaiter();
  }

  /** Whether `caller` may stop the session; Stop itself is carried out by the owner of the guest. */
  authorizeStop(caller: string): void {
    this.#requireSupervisor(caller, "Stop");
  }

  /** A peer left the bus: the UI end is unbound (messages are held again), nothing else changes. */
  peerLeft(uniqueName: string): void {
    if (this.#uiEnd?.kind === "bus" && uniqueName === this.#uiEnd.name) {
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
      this.#log.debug("guest sent a message", { length: payload.length });
      this.#deliver(this.#uiEnd, payload);
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
    this.#cameBack();
    const message = this.#stopping ? undefined : this.#inbound.shift();
    this.#handling = message !== undefined;
    return message;
  }

  /**
   * `ipc.recv-wait`: the oldest unread message as soon as there is one, or undefined after `timeoutMs`
   * (capped at MAX_RECV_WAIT_MS). The guest's thread waits; this process's event loop does not.
   */
  guestRecvWait(timeoutMs: number): Promise<string | undefined> {
    this.#cameBack();
    if (this.#state === "exited") return Promise.resolve(undefined);
    // A stopping guest waits here until it is interrupted: no new message, and no busy loop of empty answers.
    if (this.#stopping) return new Promise((resolve) => (this.#waiter = resolve));
    const waiting = this.#inbound.shift();
    this.#log.debug("guest waits for a message", { unread: waiting === undefined ? 0 : this.#inbound.length + 1 });
    if (waiting !== undefined) {
      this.#handling = true;
      return Promise.resolve(waiting);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#settleWaiter(undefined), Math.min(Math.max(0, timeoutMs), MAX_RECV_WAIT_MS));
      this.#waiter = (message) => {
        clearTimeout(timer);
        this.#handling = message !== undefined;
        resolve(message);
      };
    });
  }

  /**
   * The session is stopping: the guest gets no further message. Resolves once it has finished the one it is
   * handling (at once when it handles none), or when `graceMs` has passed, saying which.
   */
  stopping(graceMs: number): Promise<"between messages" | "grace passed"> {
    this.#stopping = true;
    if (!this.#handling) return Promise.resolve("between messages");
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve("grace passed"), graceMs);
      this.#betweenMessages.push(() => {
        clearTimeout(timer);
        resolve("between messages");
      });
    });
  }

  exited(): void {
    this.#setState("exited");
    this.#settleWaiter(undefined);
    this.#cameBack();
  }

  /** The guest asks for its next message (or has ended): the previous one is handled. */
  #cameBack(): void {
    this.#handling = false;
    for (const resolve of this.#betweenMessages.splice(0)) resolve();
  }

  #attach(uiEnd: UiEnd): void {
    this.#uiEnd = uiEnd;
    for (const payload of this.#heldOutbound.splice(0)) this.#deliver(uiEnd, payload);
  }

  #deliver(uiEnd: UiEnd, payload: string): void {
    if (uiEnd.kind === "bus") this.#outputs.message(uiEnd.name, payload);
    else uiEnd.deliver(payload);
  }

  #wakeWaiter(): void {
    // A stopping guest's recv-wait only ends when it is interrupted: a late Post must not hand it a message.
    if (this.#waiter !== undefined && !this.#stopping) this.#settleWaiter(this.#inbound.shift());
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
