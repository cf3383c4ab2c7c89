#!/usr/bin/env bun
/**
 * weft-app-shell: the UI end of one app session (docs/app-shell.md).
 *
 *   weft-app-shell <app_id> <session_id> --supervisor <appd's unique bus name> --package-fd <n> --channel-fd <n>
 *
 * start() acquires, in order: the session channel to the runtime (the page's messages go there, never over the
 * bus); the bus; the supervisor's and the runtime's presence (and their departures);
 * the verified UI files (from the package record appd passes); a Wayland connection for the session from the compositor; Chromium on it; the page
 * target with the view's origin served, the weftIpc bridge and the UI kit injected; the page loaded; the
 * object /org/weft/AppShell1 and, last, the name org.weft.AppShell1.S<id> (appd takes that as "ready").
 * Each failure has its own message; cleanup runs in reverse and always stops Chromium and removes its profile.
 *
 * Exit codes: 0 the session ended (runtime or supervisor left the bus, the app ended, SIGTERM/SIGINT); 1 lost the
 * bus; 2 usage; 3 could not start; 4 Chromium exited or crashed (the app's window is gone); 70 internal error.
 */

import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { connectBus } from "../common/bus/index.ts";
import { ChromiumProcess, noNetworkNamespaceProblem } from "../common/chromium/chromium.ts";
import { serveOrigin, viewOrigin } from "../common/chromium/origin.ts";
import { runService, StartError, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import type { Logger } from "../common/daemon/log.ts";
import { FrameKind, SessionChannel } from "../common/channel/session-channel.ts";
import { MAX_INBOUND } from "../../protocol/limits.ts";
import { APP_SHELL_EXIT, parseSessionChildArgs, type AppShellArgs } from "../../protocol/session-child.ts";
import { Bridge } from "./bridge.ts";
import { profileParentFor } from "../common/chromium/profile.ts";
import { inspectEnabled, PageInspector } from "./inspect.ts";
import { exportAppShell, exportInspect, type AppShellState } from "./interface.ts";
import { PackageLoadError, receiveVerifiedUi } from "./package.ts";
import { AppShell, Compositor, Compositor1, Runtime, Runtime1 } from "../../protocol/dbus/index.ts";

/** The UI kit every app page gets (written by the system UI's engineers); injected when it exists. */
export const UI_KIT_FILE = join(import.meta.dir, "../common/ui-kit/weft-ui-kit.js");
const MAX_UI_KIT_BYTES = 4 * 1024 * 1024;
/** From navigation to a loaded page with the bridge in it. */
const PAGE_LOAD_TIMEOUT_MS = 30_000;
/** Posts to the runtime not yet answered, at most: a page sending in a loop loses messages, not memory. */
const MAX_POSTS_IN_FLIGHT = 256;

class ChromiumGone extends Error {}

interface Ending {
  code: number;
  why: string;
}

/**
 * Page messages on their way to the runtime over the session channel: held until appd has bound us, then Hello
 * and the held ones in order. The runtime answers each Post with Posted, which bounds what is in flight.
 */
class Outbox {
  #bound = false;
  readonly #held: string[] = [];
  #inFlight = 0;
  #dropped = 0;

  constructor(
    private readonly channel: SessionChannel,
    private readonly log: Logger,
    /** Tells the page a message of its own was dropped (Bridge.pageMessageDropped). */
    private readonly onDropped: (why: string) => void,
  ) {}

  get bound(): boolean {
    return this.#bound;
  }

  bind(): void {
    if (this.#bound) return;
    this.#bound = true;
    this.channel.send(FrameKind.Hello);
    for (const payload of this.#held.splice(0)) this.send(payload);
  }

  send(payload: string): void {
    if (!this.#bound) {
      if (this.#held.length < MAX_INBOUND) this.#held.push(payload);
      else this.#drop("the session is not bound yet and 64 messages are waiting");
      return;
    }
    if (this.#inFlight >= MAX_POSTS_IN_FLIGHT) {
      this.#drop(`${MAX_POSTS_IN_FLIGHT} messages are on their way to the app already`);
      return;
    }
    if (!this.channel.send(FrameKind.Post, payload)) {
      this.#drop("the session channel is closed");
      return;
    }
    this.#inFlight++;
  }

  /** The runtime's answer to the oldest Post in flight: empty, or why it was refused. */
  posted(answer: string): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (answer !== "") this.#drop(`the runtime refused it: ${answer.slice(0, 200)}`);
  }

  #drop(why: string): void {
    this.#dropped++;
    this.onDropped(why);
    if (this.#dropped <= 20 || this.#dropped % 1000 === 0) this.log.warn("dropped a message from the page", { why, dropped: this.#dropped });
  }
}

function readUiKit(log: Logger): string | undefined {
  if (!existsSync(UI_KIT_FILE)) return undefined;
  if (statSync(UI_KIT_FILE).size > MAX_UI_KIT_BYTES) {
    log.warn("the UI kit is too large; pages get no kit", { file: UI_KIT_FILE });
    return undefined;
  }
  return readFileSync(UI_KIT_FILE, "utf8");
}

/** The session channel appd passed at `fd`; it ends the app-shell when it closes (the runtime is gone). */
async function openChannel(fd: number, log: Logger, cleanup: AsyncDisposableStack, end: (ending: Ending) => void): Promise<SessionChannel> {
  const channel = await startStep("cannot open the session channel", () => SessionChannel.inherited(fd, log));
  cleanup.defer(() => channel.close());
  void channel.closed.then(() => end({ code: APP_SHELL_EXIT.ended, why: "the session channel to the runtime closed" }));
  return channel;
}

async function run(args: AppShellArgs, log: Logger, cleanup: AsyncDisposableStack, end: (ending: Ending) => void, ended: Promise<Ending>): Promise<Ending> {
  const channel = await openChannel(args.channelFd, log, cleanup, end);
  const bus = await startStep("cannot connect to the bus", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());
  void bus.disconnected.then(() => end({ code: APP_SHELL_EXIT.lostBus, why: "lost the bus" }));

  // The session's two peers: appd (the supervisor) and the runtime, by unique name. Either leaving ends us.
  const runtimeName = Runtime.busName(args.sessionId);
  const runtime = await bus.nameOwner(runtimeName);
  if (runtime === undefined) throw new StartError(`${runtimeName} is not on the bus: appd starts weft-app-shell once the session's runtime runs`);
  const departures = await bus.onPeerLeft((name) => {
    if (name === args.supervisor) end({ code: APP_SHELL_EXIT.ended, why: "the supervisor left the bus" });
    if (name === runtime) end({ code: APP_SHELL_EXIT.ended, why: "the runtime left the bus" });
  });
  cleanup.defer(() => departures.close());
  if (!(await bus.nameHasOwner(args.supervisor))) throw new StartError(`the supervisor ${args.supervisor} is not on the bus: weft-app-shell is started by appd`);
  if ((await bus.nameOwner(runtimeName)) !== runtime) throw new StartError(`the runtime of session ${args.sessionId} left the bus`);
  const exited = await bus.subscribeSignal({ sender: runtime, path: Runtime.path, interface: Runtime1.name, member: "Exited" }, (body) =>
    end({ code: APP_SHELL_EXIT.ended, why: `the app ended (${String(body[0])})` }),
  );
  cleanup.defer(() => exited.close());

  let ui;
  try {
    ui = receiveVerifiedUi(args.packageFd, args.appId);
  } catch (error) {
    if (error instanceof PackageLoadError) throw new StartError(error.message);
    throw error;
  }
  log.info("ui verified", { signer: ui.signerKey, files: ui.files.size });

  // Before anything is asked of the compositor: a view is never started with a network (chromium.ts).
  const noNetwork = noNetworkNamespaceProblem();
  if (noNetwork !== null) throw new StartError(noNetwork);
  const waylandFd = await startStep("the compositor gave no Wayland connection for the session", () =>
    bus.proxy(Compositor1, Compositor).call("OpenClient", "application", args.sessionId),
  );

  const origin = viewOrigin(args.appId);
  const entryUrl = `${origin}/${ui.entry.split("/").map(encodeURIComponent).join("/")}`;
  const profileParent = profileParentFor(args.sessionId);
  mkdirSync(profileParent, { recursive: true, mode: 0o700 });
  const chromium = ChromiumProcess.start({ waylandFd, name: `s${args.sessionId}`, windowClass: args.appId, appUrl: `${origin}/`, profileParent, log });
  cleanup.defer(async () => {
    await chromium.stop();
    rmSync(profileParent, { recursive: true, force: true });
  });
  const chromiumGone = chromium.exited.then((code) => {
    end({ code: APP_SHELL_EXIT.chromiumGone, why: `Chromium exited (${code ?? chromium.process.signalCode})` });
    throw new ChromiumGone("Chromium exited while the app-shell was starting");
  });
  chromiumGone.catch(() => {});
  const step = <T>(work: Promise<T>) => Promise.race([work, chromiumGone, ended.then(({ why }) => Promise.reject(new StartError(`ended while starting: ${why}`)))]);

  const target = await step(chromium.attachToPage());
  // Chromium's own first load of the app URL gets nothing: the page loads once, by our navigation below, with
  // the bridge already in place.
  let serving = false;
  await step(serveOrigin({ cdp: chromium.cdp, sessionId: target, origin, file: (path) => (serving ? ui.files.get(path) : undefined), entryUrl, log }));

  let state: AppShellState = "loading";
  // The outbox tells the page about its dropped messages through the bridge (called only once both exist).
  const outbox = new Outbox(channel, log, (why) => bridge.pageMessageDropped(why));
  const bridge = new Bridge({ cdp: chromium.cdp, target, origin, sessionId: args.sessionId, log, onPageMessage: (payload) => outbox.send(payload) });
  await step(bridge.install());
  const uiKit = readUiKit(log);
  if (uiKit !== undefined) await step(chromium.cdp.send("Page.addScriptToEvaluateOnNewDocument", { source: uiKit }, target));
  channel.onFrame((frame) => {
    if (frame.kind === FrameKind.Message) bridge.deliver(frame.payload);
    else if (frame.kind === FrameKind.Posted) outbox.posted(frame.payload);
    else {
      log.warn("the runtime sent a frame only the app-shell sends: closing the session channel", { kind: frame.kind });
      channel.close();
    }
  });

  serving = true;
  await step(chromium.cdp.send("Page.navigate", { url: entryUrl }, target));
  const deadline = Date.now() + PAGE_LOAD_TIMEOUT_MS;
  for (;;) {
    if (bridge.pageReady) {
      const { result } = await step(chromium.cdp.send<{ result: { value?: unknown } }>("Runtime.evaluate", { expression: "document.readyState", returnByValue: true }, target));
      if (result.value === "complete") break;
    }
    if (Date.now() > deadline) throw new StartError(`the page ${entryUrl} did not load within ${PAGE_LOAD_TIMEOUT_MS / 1000} s`);
    await step(Bun.sleep(25));
  }
  log.info("page loaded", { url: entryUrl, uiKit: uiKit !== undefined });

  const service = exportAppShell(bus, {
    appId: args.appId,
    sessionId: args.sessionId,
    supervisor: args.supervisor,
    chromiumPid: chromium.process.pid,
    origin,
    inspectable: inspectEnabled(process.env),
    state: () => state,
    bound: () => {
      if (state === "bound") return;
      state = "bound";
      service.propertiesChanged({ State: state });
      outbox.bind();
      log.info("bound as the session's UI end", {});
    },
  });
  cleanup.defer(() => service.unexport());
  if (inspectEnabled(process.env)) {
    const frameId = async () => (await chromium.cdp.send<{ frameTree: { frame: { id: string } } }>("Page.getFrameTree", {}, target)).frameTree.frame.id;
    const inspect = exportInspect(bus, new PageInspector(chromium.cdp, target, frameId));
    cleanup.defer(() => inspect.unexport());
    log.warn("inspect on: any client of this user can read the page (WEFT_APP_SHELL_INSPECT=1)", {});
  }
  state = "ready";
  try {
    await bus.requestName(AppShell.busName(args.sessionId));
  } catch (error) {
    throw new StartError(`cannot own ${AppShell.busName(args.sessionId)}: ${(error as Error).message}`);
  }
  cleanup.defer(() => bus.releaseName(AppShell.busName(args.sessionId)).catch(() => {}));
  log.info("ready", { name: AppShell.busName(args.sessionId), unique: bus.uniqueName, chromium: chromium.process.pid });
  return ended;
}

/** Runs the session's UI end; resolves with the exit code (an ending's, or why it could not start). */
async function runAppShell(ctx: ServiceContext<AppShellArgs>): Promise<number> {
  const { args, log, cleanup } = ctx;
  const ending = Promise.withResolvers<Ending>();
  let settled: Ending | undefined;
  const end = (value: Ending) => {
    if (settled !== undefined) return;
    settled = value;
    ending.resolve(value);
  };
  void ctx.stopRequested.then((signal) => end({ code: APP_SHELL_EXIT.ended, why: signal }));
  try {
    const { code, why } = await run(args, log, cleanup, end, ending.promise);
    log.info("stopping", { why, code });
    return code;
  } catch (error) {
    // Ended while starting (SIGTERM, the runtime or appd gone, Chromium gone): that ending's code, not a failure.
    if (settled !== undefined) {
      log.info("stopping", { why: settled.why, code: settled.code });
      return settled.code;
    }
    if (error instanceof ChromiumGone) {
      log.error("Chromium exited before the page was shown", {});
      return APP_SHELL_EXIT.chromiumGone;
    }
    throw error; // a StartError is "cannot start" (exit 3), anything else internal (70): common/daemon/frame.ts
  }
}

export function main(argv: string[]): Promise<number> {
  return runService(
    {
      program: "weft-app-shell",
      service: "app-shell",
      parseArgs: (argv) => parseSessionChildArgs("weft-app-shell", argv),
      logFields: (args) => ({ app: args.appId, session: String(args.sessionId) }),
      run: runAppShell,
    },
    argv,
  );
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
