#!/usr/bin/env bun
/**
 * weft-runtime: the Wasm host of one app session.
 *
 *   weft-runtime <app_id> <session_id> --supervisor <unique bus name> --package-fd <n> [--channel-fd <n>]
 *
 * start() acquires, in order: the bus; the supervisor's presence; the package appd verified (its record on --package-fd); its grants; the
 * compiled component; the session channel to the app-shell, when there is one; the bus name
 * org.weft.Runtime1.S<id> with its interface; the guest. Each failure has its
 * own message; cleanup runs in reverse. The session ends when the guest ends, when the supervisor calls Stop,
 * when the supervisor leaves the bus (so a crashed appd leaves no orphaned app running), or on SIGTERM.
 *
 * Exit codes (protocol/session-child.ts RUNTIME_EXIT): 0 the guest returned ok; 1 the guest failed, trapped or
 * was stopped; 2 usage; 3 the session could not start (package refused, supervisor absent, environment).
 */

import { connectBus, type BusConnection } from "../common/bus/index.ts";
import { runService, StartError, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import type { Logger } from "../common/daemon/log.ts";
import { FrameKind, SessionChannel } from "../common/channel/session-channel.ts";
import { parseSessionChildArgs, RUNTIME_EXIT, type SessionChildArgs } from "../../protocol/session-child.ts";
import { compiledComponent } from "./cache.ts";
import { GuestOutput } from "./guest-output.ts";
import { preopensFor } from "./grants.ts";
import { hostImports } from "./host.ts";
import { BusOutputs, exportRuntime } from "./interface.ts";
import { receivePackage } from "./package.ts";
import { GUEST_FINISH_GRACE_MS } from "../../protocol/limits.ts";
import { RuntimeSession, SessionRefusal } from "./session.ts";
import { engineFingerprint, precompileComponent, startGuest, type Guest, type GuestExit } from "./wasmtime/index.ts";
import { Runtime } from "../../protocol/dbus/index.ts";

/** Linear memory a guest may grow to; the session's cgroup (MemoryMax=512M) bounds the whole process too. */
export const GUEST_MEMORY_LIMIT = 256 * 1024 * 1024;

async function requireOnBus(bus: BusConnection, name: string): Promise<void> {
  if (!(await bus.nameHasOwner(name))) throw new StartError(`the supervisor ${name} is not on the bus: weft-runtime is started by appd (or a test) with its own unique name`);
}

/**
 * Serves the session channel to the app-shell (common/channel/session-channel.ts): Hello attaches it as the UI end, each
 * Post is queued for the guest and answered with Posted (empty, or the refusal), in order.
 */
async function serveChannel(fd: number, session: RuntimeSession, log: Logger, cleanup: AsyncDisposableStack): Promise<void> {
  const channel = await startStep("cannot open the session channel", () => SessionChannel.inherited(fd, log));
  channel.onFrame((frame) => {
    switch (frame.kind) {
      case FrameKind.Hello:
        session.attachChannel((payload) => channel.send(FrameKind.Message, payload));
        return;
      case FrameKind.Post:
        try {
          session.postFromChannel(frame.payload);
          channel.send(FrameKind.Posted);
        } catch (error) {
          if (!(error instanceof SessionRefusal)) throw error;
          channel.send(FrameKind.Posted, `${error.errorName}: ${error.message}`);
        }
        return;
      default:
        log.warn("the app-shell sent a frame only the runtime sends: closing the session channel", { kind: frame.kind });
        channel.close();
    }
  });
  void channel.closed.then(() => session.detachChannel());
  cleanup.defer(() => channel.close());
}

async function runSession(ctx: ServiceContext<SessionChildArgs>): Promise<GuestExit> {
  const { args, log, cleanup } = ctx;
  const bus = await startStep("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());
  await requireOnBus(bus, args.supervisor);

  const pkg = await startStep("the package is refused", async () => receivePackage(args.packageFd, args.appId));
  const granted = pkg.manifest.package.capabilities;
  const preopens = preopensFor(args.appId, granted);
  const fingerprint = engineFingerprint();
  const compiled = await compiledComponent(pkg.moduleSha256, pkg.moduleBytes, fingerprint, (bytes) => precompileComponent(bytes));
  log.info("package verified", { signer: pkg.signerKey, compiled: compiled.compiled, capabilities: granted.map((c) => c.name).join(" ") });

  const outputs = new BusOutputs();
  const session = new RuntimeSession(args.appId, args.sessionId, args.supervisor, granted.map((c) => c.name), outputs, log, args.channelFd === undefined ? "bus" : "channel");
  if (args.channelFd !== undefined) await serveChannel(args.channelFd, session, log, cleanup);
  let guest: Guest | undefined;
  let stopReason: string | undefined;
  // SIGTERM and SIGINT (handled from the first moment: common/daemon/frame.ts) stop the session the way Stop does.
  // A stop lets the guest finish the message it is handling (a save completes), within a grace, then interrupts it.
  const stop = (reason: string) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    log.info("stopping", { reason });
    void session.stopping(GUEST_FINISH_GRACE_MS).then((how) => {
      if (how === "grace passed") log.warn("the guest did not finish its message within the grace: interrupting it", { graceMs: GUEST_FINISH_GRACE_MS });
      guest?.interrupt();
    });
  };
  void ctx.stopRequested.then(stop);

  // Peers are tracked by unique name: when the supervisor leaves the session ends; when the UI end leaves its
  // messages are held for the next one.
  const departures = await bus.onPeerLeft((name) => {
    if (name === args.supervisor) stop("the supervisor left the bus");
    session.peerLeft(name);
  });
  cleanup.defer(() => departures.close());
  await requireOnBus(bus, args.supervisor); // it may have left between the first check and the subscription

  await bus.requestName(Runtime.busName(args.sessionId));
  cleanup.defer(() => bus.releaseName(Runtime.busName(args.sessionId)).catch(() => {}));
  outputs.service = exportRuntime(bus, session, stop);
  cleanup.defer(() => outputs.service?.unexport());

  const output = new GuestOutput(log);
  guest = await startGuest({
    component: { precompiledFile: compiled.file },
    preopens,
    env: {},
    imports: hostImports({ session, granted, appName: pkg.manifest.package.name, bus, log }),
    onOutput: (stream, bytes) => output.write(stream, bytes),
    memoryLimitBytes: GUEST_MEMORY_LIMIT,
  });
  cleanup.defer(() => guest?.terminate());
  if (stopReason !== undefined) guest.interrupt(); // a stop that arrived while the guest was starting: it holds no message

  const exit = await guest.exited;
  output.flush();
  session.exited();
  const message = stopReason !== undefined && exit.status === "interrupted" ? `stopped: ${stopReason}` : exit.message;
  outputs.service.emit("Exited", exit.status, message);
  log.info("guest exited", { status: exit.status, message });
  return { ...exit, message };
}

export function main(argv: string[]): Promise<number> {
  return runService(
    {
      program: "weft-runtime",
      service: "runtime",
      parseArgs: (argv) => parseSessionChildArgs("weft-runtime", argv),
      logFields: (args) => ({ app: args.appId, session: String(args.sessionId) }),
      run: async (ctx) => {
        const exit = await runSession(ctx);
        return exit.status === "returned-ok" || (exit.status === "exit" && exit.code === 0) ? RUNTIME_EXIT.ok : RUNTIME_EXIT.failed;
      },
    },
    argv,
  );
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
