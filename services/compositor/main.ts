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
 * org.weft.Compositor1.TestInput (synthetic input) is exported on a headless-only backend, or with
 * WEFT_COMPOSITOR_TEST_INPUT=1 when the backend has a headless part (test-input.ts).
 *
 * start() acquires, in order: the bus; the native compositor (its outputs exist when it returns); the
 * interface at /org/weft/Compositor1; the name org.weft.Compositor1; then tells systemd READY=1. Each failure
 * has its own message; cleanup runs in reverse: the name goes first, so no call arrives after the compositor
 * thread is gone. Runs until SIGTERM/SIGINT or until the bus goes away.
 *
 * Exit codes: 0 stopped by a signal; 2 usage; 3 could not start (no bus, no backend, name taken); 1 the bus went away.
 */

import { sdNotify } from "../common/daemon/sd-notify.ts";
import { Compositor } from "../../protocol/dbus/index.ts";
import { connectBus } from "../common/bus/index.ts";
import { runService, serveUntilStopped, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import { readEvents } from "./events.ts";
import { emitCompositorEvent, exportCompositor } from "./interface.ts";
import { NativeCompositor } from "./native.ts";
import { exportTestInputIfAllowed } from "./test-input.ts";

/** Starts the compositor and serves until it is stopped; resolves with the exit code. */
async function run(ctx: ServiceContext<undefined>): Promise<number> {
  const { log, cleanup } = ctx;
  const bus = await startStep("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());

  const compositor = await startStep("cannot start the compositor (is WLR_BACKENDS right for this machine?)", () => NativeCompositor.start());
  cleanup.defer(() => {
    compositor.close();
    log.info("compositor stopped");
  });
  const outputs = compositor.listOutputs();

  // Synthetic input only where no human input exists, or when asked for (test-input.ts says why); there, any
  // client of the user may also take screenshots (interface.ts).
  const testInput = await startStep("cannot set up test input", () => exportTestInputIfAllowed(bus, compositor, log, process.env));
  if (testInput !== null) cleanup.defer(() => testInput.unexport());
  const service = await startStep(`cannot export ${Compositor.path}`, () => exportCompositor(bus, compositor, { testSurface: testInput !== null }));
  cleanup.defer(() => service.unexport());
  // Events become signals in order; the pipe ends when the compositor thread is gone (after close()).
  readEvents(compositor.takeEventFd(), (event) => emitCompositorEvent(service, event)).catch((error) =>
    log.error("reading compositor events failed", { error: String(error) }),
  );

  await startStep(`cannot own ${Compositor.busName} (is another weft-compositor running?)`, () => bus.requestName(Compositor.busName));
  cleanup.defer(() => bus.releaseName(Compositor.busName).catch(() => {}));
  log.info("ready", { name: Compositor.busName, outputs: outputs.map((o) => `${o.name}:${o.width}x${o.height}+${o.x}+${o.y}`).join(" ") });
  sdNotify("READY=1");

  return serveUntilStopped(ctx, bus, () => sdNotify("STOPPING=1"));
}

export function main(argv: string[]): Promise<number> {
  return runService({ program: "weft-compositor", service: "compositor", run }, argv);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
