#!/usr/bin/env bun
/**
 * weft-shell: the system UI host (docs/shell.md). Shows services/shell/ui/system-ui.html in Debian's Chromium on
 * a shell-role compositor connection (beneath the apps, the whole output), reserves the 48 px taskbar strip
 * through weft-panel, keeps the page in sync with appd and the compositor, serves org.weft.Shell1 and
 * org.freedesktop.Notifications.
 *
 *   weft-shell            (no arguments; the bus is WEFT_BUS_ADDRESS, else the session bus)
 *
 * WEFT_SHELL_INSPECT=1 turns on Shell1.ElementRect/ElementText (tests and scripted demos only: they read the
 * page, notification texts included). WEFT_CHROMIUM and WEFT_PANEL name other binaries.
 *
 * start() acquires, in order: the bus; a shell connection and Chromium showing the page; a second shell
 * connection and weft-panel; the subscriptions to appd's and the compositor's signals; the two interfaces;
 * the names org.freedesktop.Notifications and org.weft.Shell1; READY=1. Cleanup runs in reverse (names first).
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the bus went away; 2 usage; 3 could not start; 4 the shell's
 * Chromium exited (the unit restarts the shell); 5 weft-panel exited; 70 an unexpected failure.
 * Nothing outlives the shell: Chromium quits when its DevTools pipe closes (our end goes with us), weft-panel
 * when its stdin closes, and it also has PR_SET_PDEATHSIG.
 */

import { sdNotify } from "../common/daemon/sd-notify.ts";
import { Compositor, Compositor1, NotificationsService, Shell } from "../../protocol/dbus/index.ts";
import { connectBus } from "../common/bus/index.ts";
import { runService, serveUntilStopped, startStep, type ServiceContext } from "../common/daemon/frame.ts";
import { Desktop } from "./desktop.ts";
import { exportShell, inspectionEnabled } from "./interface.ts";
import { NotificationCenter } from "./notifications.ts";
import { ShellPage } from "./page.ts";
import { PanelHelper } from "./panel.ts";

export const EXIT_CHROMIUM_DIED = 4;
export const EXIT_PANEL_DIED = 5;

/** Starts the shell and serves until it is stopped or a child it cannot run without dies; resolves with the exit code. */
async function run(ctx: ServiceContext<undefined>): Promise<number> {
  const { log, cleanup } = ctx;
  const bus = await startStep("cannot connect to the bus (set WEFT_BUS_ADDRESS or DBUS_SESSION_BUS_ADDRESS)", () => connectBus({ logger: log }));
  cleanup.defer(() => bus.close());
  const compositor = bus.proxy(Compositor1, Compositor);
  const openShellConnection = () => compositor.call("OpenClient", "shell", 0n);

  // The page's messages and the notifications go to the desktop once it exists; a page that speaks earlier
  // says hello again when the desktop first sends it its state.
  let desktop: Desktop | undefined;
  const notifications = new NotificationCenter({
    log,
    onShow: (notification) => desktop?.showNotification(notification),
    onClose: (id) => desktop?.notificationClosed(id),
  });

  // The handshake with the compositor: it gives shell connections, screenshots and the clipboard only to the owner
  // of the shell's role name, so the shell takes that first; org.weft.Shell1 still means "ready", at the end.
  await startStep(`cannot own ${Shell.roleName} (is another weft-shell running?)`, () => bus.requestName(Shell.roleName));
  cleanup.defer(() => bus.releaseName(Shell.roleName).catch(() => {}));
  const pageFd = await startStep("cannot get a shell connection from the compositor (is weft-compositor running?)", openShellConnection);
  const page = await startStep("cannot show the system UI in Chromium", () =>
    ShellPage.start({ waylandFd: pageFd, log, onMessage: (payload) => desktop?.handlePageMessage(payload) }),
  );
  cleanup.defer(() => page.stop());
  desktop = new Desktop(bus, page, notifications, log);
  const shownDesktop = desktop;

  const panelFd = await startStep("cannot get a second shell connection for the taskbar strip", openShellConnection);
  const panel = await startStep("cannot start weft-panel", () => PanelHelper.start(panelFd, log, (event) => shownDesktop.panelEvent(event)));
  cleanup.defer(() => panel.stop());

  await startStep("cannot follow appd's and the compositor's signals", () => desktop.start());
  cleanup.defer(() => shownDesktop.stop());

  const notificationService = await startStep("cannot export org.freedesktop.Notifications", () => notifications.export(bus));
  cleanup.defer(() => {
    notifications.closeAll();
    notificationService.unexport();
  });
  const inspect = inspectionEnabled(process.env);
  const shellService = await startStep("cannot export org.weft.Shell1", () => exportShell(bus, shownDesktop, page, inspect));
  cleanup.defer(() => shellService.unexport());

  await startStep(`cannot own ${NotificationsService.busName} (does another notification server run on this bus?)`, () => bus.requestName(NotificationsService.busName));
  cleanup.defer(() => bus.releaseName(NotificationsService.busName).catch(() => {}));
  await startStep(`cannot own ${Shell.busName} (is another weft-shell running?)`, () => bus.requestName(Shell.busName));
  cleanup.defer(() => bus.releaseName(Shell.busName).catch(() => {}));
  log.info("ready", { name: Shell.busName, inspect, chromium: page.chromium.process.pid, panel: panel.process.pid });
  sdNotify("READY=1");

  const childDied = Promise.race([
    page.exited.then((code) => ({ child: "chromium", code, exitCode: EXIT_CHROMIUM_DIED })),
    panel.exited.then((code) => ({ child: "weft-panel", code, exitCode: EXIT_PANEL_DIED })),
  ]);
  const outcome = await Promise.race([serveUntilStopped(ctx, bus, () => sdNotify("STOPPING=1")), childDied]);
  if (typeof outcome === "number") return outcome;
  log.error(`${outcome.child} exited: the shell stops so that it is restarted`, { code: outcome.code });
  sdNotify("STOPPING=1");
  return outcome.exitCode;
}

export function main(argv: string[]): Promise<number> {
  return runService({ program: "weft-shell", service: "shell", run }, argv);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
