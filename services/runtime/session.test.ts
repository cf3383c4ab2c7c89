import { describe, expect, test } from "bun:test";
import { createLogger } from "../common/daemon/log.ts";
import { MAX_HELD_OUTBOUND, MAX_INBOUND, MAX_PAYLOAD_LENGTH } from "../../protocol/limits.ts";
import { RuntimeSession, SessionRefusal } from "./session.ts";

function makeSession(uiEndKind: "bus" | "channel" = "bus") {
  const sent: [string, string][] = [];
  const states: string[] = [];
  let readies = 0;
  const log: string[] = [];
  const session = new RuntimeSession(
    "org.weft.demo.counter",
    1n,
    ":1.1",
    [],
    { message: (ui, payload) => sent.push([ui, payload]), ready: () => readies++, stateChanged: (s) => states.push(s) },
    createLogger("runtime", { sink: (l) => log.push(l), level: "debug" }),
    uiEndKind,
  );
  return { session, sent, states, readies: () => readies, log };
}

const refusal = (fn: () => void): SessionRefusal => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SessionRefusal) return error;
    throw error;
  }
  throw new Error("expected a refusal");
};

describe("RuntimeSession", () => {
  test("ready once: starting → running, the Ready output fires once", () => {
    const { session, states, readies } = makeSession();
    session.guestReady();
    session.guestReady();
    expect(session.state).toBe("running");
    expect(states).toEqual(["running"]);
    expect(readies()).toBe(1);
  });

  test("only the supervisor binds the UI end; held messages are delivered on bind, in order", () => {
    const { session, sent, log } = makeSession();
    expect(session.guestSend("a")).toEqual({ ok: true });
    expect(session.guestSend("b")).toEqual({ ok: true });
    expect(refusal(() => session.bindUi(":1.99", ":1.99")).errorName).toBe("AccessDenied");
    expect(log.some((l) => l.includes("BindUi refused"))).toBe(true);
    expect(refusal(() => session.bindUi(":1.1", "not a name")).errorName).toBe("InvalidArgs");
    session.bindUi(":1.1", ":1.7");
    expect(sent).toEqual([[":1.7", "a"], [":1.7", "b"]]);
    session.guestSend("c");
    expect(sent.at(-1)).toEqual([":1.7", "c"]);
  });

  test("only the UI end posts; recv is FIFO and never waits", () => {
    const { session } = makeSession();
    expect(refusal(() => session.post(":1.7", "x")).errorName).toBe("AccessDenied"); // no UI end yet
    session.bindUi(":1.1", ":1.7");
    expect(refusal(() => session.post(":1.1", "x")).errorName).toBe("AccessDenied"); // the supervisor is not the UI end
    expect(refusal(() => session.post(":1.8", "x")).errorName).toBe("AccessDenied");
    session.post(":1.7", "one");
    session.post(":1.7", "two");
    expect(session.guestRecv()).toBe("one");
    expect(session.guestRecv()).toBe("two");
    expect(session.guestRecv()).toBeUndefined();
  });

  test("recv-wait answers the moment a message is posted, times out with none, and ends at exit", async () => {
    const { session } = makeSession();
    session.bindUi(":1.1", ":1.7");
    const started = performance.now();
    const waiting = session.guestRecvWait(5_000);
    setTimeout(() => session.post(":1.7", "now"), 20);
    expect(await waiting).toBe("now");
    expect(performance.now() - started).toBeLessThan(2_000);
    session.post(":1.7", "queued");
    expect(await session.guestRecvWait(5_000)).toBe("queued"); // already waiting: no wait at all
    expect(await session.guestRecvWait(30)).toBeUndefined();
    const atExit = session.guestRecvWait(60_000);
    session.exited();
    expect(await atExit).toBeUndefined();
  });

  test("bounded queues: a full inbound queue is QueueFull, held outbound overflow is an error for the guest", () => {
    const { session } = makeSession();
    for (let i = 0; i < MAX_HELD_OUTBOUND; i++) expect(session.guestSend(`m${i}`).ok).toBe(true);
    expect(session.guestSend("one too many")).toEqual({ ok: false, error: expect.stringContaining("no UI is attached") });
    session.bindUi(":1.1", ":1.7");
    for (let i = 0; i < MAX_INBOUND; i++) session.post(":1.7", `p${i}`);
    expect(refusal(() => session.post(":1.7", "overflow")).errorName).toBe("QueueFull");
    expect(session.guestRecv()).toBe("p0");
    session.post(":1.7", "fits again");
  });

  test("oversized payloads are refused in both directions", () => {
    const { session } = makeSession();
    session.bindUi(":1.1", ":1.7");
    const huge = "x".repeat(MAX_PAYLOAD_LENGTH + 1);
    expect(refusal(() => session.post(":1.7", huge)).errorName).toBe("InvalidArgs");
    expect(session.guestSend(huge).ok).toBe(false);
  });

  test("when the UI end leaves the bus, messages are held again until a new one is bound", () => {
    const { session, sent } = makeSession();
    session.bindUi(":1.1", ":1.7");
    session.peerLeft(":1.7");
    session.guestSend("while away");
    expect(sent).toEqual([]);
    expect(refusal(() => session.post(":1.7", "ghost")).errorName).toBe("AccessDenied");
    session.bindUi(":1.1", ":1.9");
    expect(sent).toEqual([[":1.9", "while away"]]);
  });

  test("Stop is for the supervisor only; posting after exit is NotRunning", () => {
    const { session } = makeSession();
    expect(refusal(() => session.authorizeStop(":1.5")).errorName).toBe("AccessDenied");
    session.authorizeStop(":1.1");
    session.bindUi(":1.1", ":1.7");
    session.exited();
    expect(refusal(() => session.post(":1.7", "late")).errorName).toBe("NotRunning");
  });

  test("a session with a channel: no bus peer can be bound or post; the channel posts after Hello and gets held messages then", () => {
    const { session, sent } = makeSession("channel");
    const delivered: string[] = [];
    expect(session.guestSend("early")).toEqual({ ok: true });
    // The supervisor itself cannot route this session's messages onto the bus.
    expect(refusal(() => session.bindUi(":1.1", ":1.7")).errorName).toBe("AccessDenied");
    expect(refusal(() => session.post(":1.7", "x")).errorName).toBe("AccessDenied");
    expect(refusal(() => session.postFromChannel("before hello")).errorName).toBe("AccessDenied");
    session.attachChannel((payload) => delivered.push(payload));
    expect(delivered).toEqual(["early"]);
    session.postFromChannel("from the page");
    expect(session.guestRecv()).toBe("from the page");
    session.guestSend("to the page");
    expect(delivered).toEqual(["early", "to the page"]);
    expect(sent).toEqual([]); // nothing went to a bus output
    // The app-shell gone: held again, bounded as always.
    session.detachChannel();
    for (let i = 0; i < MAX_HELD_OUTBOUND; i++) expect(session.guestSend(`h${i}`).ok).toBe(true);
    expect(session.guestSend("one too many").ok).toBe(false);
    expect(delivered).toHaveLength(2);
  });

  test("the channel's posts are refused like the bus's: full queue, oversized, after exit", () => {
    const { session } = makeSession("channel");
    session.attachChannel(() => {});
    for (let i = 0; i < MAX_INBOUND; i++) session.postFromChannel(`p${i}`);
    expect(refusal(() => session.postFromChannel("overflow")).errorName).toBe("QueueFull");
    session.guestRecv();
    expect(refusal(() => session.postFromChannel("x".repeat(MAX_PAYLOAD_LENGTH + 1))).errorName).toBe("InvalidArgs");
    session.exited();
    expect(refusal(() => session.postFromChannel("late")).errorName).toBe("NotRunning");
  });

  test("a bus session has no channel to attach", () => {
    const { session } = makeSession("bus");
    expect(() => session.attachChannel(() => {})).toThrow("not started with a session channel");
  });
});

describe("stopping", () => {
  function running() {
    const made = makeSession();
    made.session.guestReady();
    made.session.bindUi(":1.1", ":1.7");
    return made;
  }

  test("a guest between messages is ready to be interrupted at once", async () => {
    const { session } = running();
    void session.guestRecvWait(1_000);
    expect(await session.stopping(5_000)).toBe("between messages");
  });

  test("a guest handling a message finishes it first: stopping resolves when it comes back, and it gets no more", async () => {
    const { session } = running();
    session.post(":1.7", "save:1");
    session.post(":1.7", "save:2");
    expect(await session.guestRecvWait(1_000)).toBe("save:1");
    let settled = "";
    const stopping = session.stopping(5_000).then((how) => (settled = how));
    await Bun.sleep(20);
    expect(settled).toBe(""); // still handling save:1
    expect(session.guestRecv()).toBeUndefined(); // save:2 is not handed out while stopping
    expect(await stopping).toBe("between messages");
    let answered = false;
    void session.guestRecvWait(10).then(() => (answered = true));
    await Bun.sleep(50);
    expect(answered).toBe(false); // a stopping guest waits to be interrupted, not in a loop of empty answers
    session.post(":1.7", "save:3"); // a Post that arrives meanwhile does not wake it with a message
    await Bun.sleep(0);
    expect(answered).toBe(false);
    session.exited();
    await Bun.sleep(0);
    expect(answered).toBe(true);
  });

  test("a guest that does not finish within the grace is interrupted anyway", async () => {
    const { session } = running();
    session.post(":1.7", "spin");
    expect(session.guestRecv()).toBe("spin");
    expect(await session.stopping(30)).toBe("grace passed");
  });
});
