#!/usr/bin/env bun
/**
 * weft-compositor: the Wayland compositor (native/compositor, on a thread of its own) and its D-Bus surface
 * org.weft.Compositor1.
 *
 *   weft-compositor            (no arguments; the bus is WEFT_BUS_ADDRESS, else the session bus)
 *
 * The backend is wlr_backend_autocreate's: WLR_BACKENDS=headless in CI and the demo (one 1280x720 output),
 * x11/wayland nested on a developer's desktop, DRM/KMS on a seat. WLR_RENDERER=pixman without a GPU.
 * WEFT_COMPOSITOR_LOG=info|debug raises wlroots' log level (errors only by default).
 *
 * start() acquires, in order: the bus; the native compositor (its outputs exist when it returns); the
 * interface at /org/weft/Compositor1; the name org.weft.Compositor1; then tells systemd READY=1. Each failure
 * has its own message; cleanup runs in reverse: the name goes first, so no call arrives after the compositor
 * thread is gone. Runs until SIGTERM/SIGINT or until the bus goes away.
 *
 * Exit codes: 0 stopped by a signal; 2 usage; 3 could not start (no bus, no backend, name taken); 1 the bus went away.
 */

import { sdNotify } from "../appd/sd-notify.ts";
import { connectBus } from "../common/bus/index.ts";
import { createLogger, type Logger } from "../common/log.ts";
import { COMPOSITOR_NAME, exportCompositor } from "./interface.ts";
import { NativeCompositor } from "./native.ts";

class StartError extends Error {}

async function step<T>(what: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StartError(`${what}: ${(error as Error).message}`);
  }
}

/** Starts the compositor; resolves with the reason it stopped. */
async function run(log: Logger, cleanup: AsyncDisposableStack): Promise<"signal" | "bus-lost"> {
  const bus = await step("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());

  const compositor = await step("cannot start the compositor (is WLR_BACKENDS right for this machine?)", () => NativeCompositor.start());
  cleanup.defer(() => {
    compositor.close();
    log.info("compositor stopped");
  });
  const outputs = compositor.listOutputs();

  const service = await step("cannot export /org/weft/Compositor1", () => exportCompositor(bus, compositor));
  cleanup.defer(() => service.unexport());

  await step(`cannot own ${COMPOSITOR_NAME} (is another weft-compositor running?)`, () => bus.requestName(COMPOSITOR_NAME));
  cleanup.defer(() => bus.releaseName(COMPOSITOR_NAME).catch(() => {}));
  log.info("ready", { name: COMPOSITOR_NAME, outputs: outputs.map((o) => `${o.name}:${o.width}x${o.height}+${o.x}+${o.y}`).join(" ") });
  sdNotify("READY=1");

  const stopped = Promise.withResolvers<"signal">();
  const onSignal = (signal: string) => {
    log.info("stopping", { signal });
    sdNotify("STOPPING=1");
    stopped.resolve("signal");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  cleanup.defer(() => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  });
  return Promise.race([stopped.promise, bus.disconnected.then(() => "bus-lost" as const)]);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write("usage: weft-compositor (no arguments; the bus comes from WEFT_BUS_ADDRESS or the session)\n");
    return 2;
  }
  const log = createLogger("compositor");
  await using cleanup = new AsyncDisposableStack();
  try {
    const reason = await run(log, cleanup);
    if (reason === "bus-lost") {
      log.error("the bus connection was lost");
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof StartError) {
      log.error("cannot start", { error: error.message });
      return 3;
    }
    log.error("compositor failed", { error: (error as Error).stack ?? String(error) });
    return 70;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
