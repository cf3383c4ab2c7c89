/**
 * Debian's Chromium as a WebView (PLATFORM-NOTES "Chromium as the WebView"): one browser process per view, on
 * a Wayland connection the compositor made for a session (inherited fd, WAYLAND_SOCKET), driven over
 * `--remote-debugging-pipe` (cdp.ts), with a fresh profile directory that is removed when it ends.
 *
 * Network: a view never needs one. Every request of the page is answered by the caller through the Fetch domain
 * (origin.ts); Chromium resolves no host name (`--host-resolver-rules`), sends everything through a proxy that
 * does not exist, loopback included (`<-loopback>`), and lets WebRTC use nothing but that proxy, so what the Fetch
 * domain does not see (a WebSocket, WebRTC's STUN and TURN, QUIC) goes nowhere either. Below Chromium, the second
 * wall: the browser and all its helpers run in a network namespace of their own with no interface but a loopback
 * that is down (`unshare --net`, in a user namespace mapping only the user itself), so no socket of theirs reaches
 * any address of this machine or beyond, whatever a page finds in Chromium.
 */

import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd } from "../bus/index.ts";
import type { Logger } from "../daemon/log.ts";
import { CdpConnection } from "./cdp.ts";

export const CHROMIUM = process.env.WEFT_CHROMIUM ?? "/usr/bin/chromium";
/**
 * util-linux's setpriv sets PR_SET_PDEATHSIG and then execs Chromium (same pid): if the process that started
 * Chromium dies, even by SIGKILL, the kernel kills the browser, and its helpers end with it (their channel to
 * the browser closes). Bun.spawn has no hook to run prctl in the child itself.
 */
const SETPRIV = "/usr/bin/setpriv";
/** util-linux's unshare: a new user namespace mapping only the caller's own uid, and a network namespace in it. */
const UNSHARE = "/usr/bin/unshare";
const NO_NETWORK = [UNSHARE, "--map-current-user", "--net", "--"];

let noNetworkProblem: string | null | undefined;

/**
 * Why a view cannot be started without a network (once per process: the kernel's answer does not change), or
 * null when it can. A view is never started with one.
 */
export function noNetworkNamespaceProblem(): string | null {
  if (noNetworkProblem !== undefined) return noNetworkProblem;
  const probe = Bun.spawnSync([...NO_NETWORK, "true"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  noNetworkProblem = probe.success
    ? null
    : `cannot give Chromium a network namespace of its own (${UNSHARE} --map-current-user --net: ${probe.stderr.toString().trim() || `exit ${probe.exitCode}`}): ` +
      "WEFT needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0; on Debian also kernel.unprivileged_userns_clone = 1) and util-linux's unshare";
  return noNetworkProblem;
}

export interface ChromiumOptions {
  /** The Wayland connection (from Compositor1.OpenClient); passed to Chromium and closed here. */
  waylandFd: number;
  /** Label for logs and the profile directory name. */
  name: string;
  /** The xdg app id / window class Chromium gives its toplevel. */
  windowClass: string;
  log: Logger;
  /** Where the profile directory goes (default: $XDG_RUNTIME_DIR, else the temp dir). */
  profileParent?: string;
  extraArgs?: string[];
  /**
   * The app window's first URL (`--app=<url>`; default an empty `data:` page). Every view is an app window: no
   * tab strip, no toolbar, the page fills the window (a normal browser frame would put 87 px of toolbar above it).
   * Chromium derives an app window's Wayland app id from this URL ("chrome-<host>__<path>-Default") and ignores
   * `windowClass`; `about:blank` is not taken as an app URL. Give the view's origin: that first load fails (no
   * resolver, dead proxy) until the caller has its Fetch interception on and navigates.
   */
  appUrl?: string;
  /** Kill Chromium when this process dies (PR_SET_PDEATHSIG through setpriv; default true when setpriv exists). */
  dieWithParent?: boolean;
}

/** Flags every view gets; why each is there is in PLATFORM-NOTES and docs/webview.md. */
export function chromiumArgs(profileDir: string, windowClass: string, extra: string[] = [], appUrl?: string): string[] {
  const args = [
    "--ozone-platform=wayland",
    `--user-data-dir=${profileDir}`,
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--disable-gpu",
    "--password-store=basic",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    // WebRTC only through the (dead) proxy: no UDP of its own, no STUN or TURN to any address.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-quic",
    "--dns-prefetch-disable",
    `--class=${windowClass}`,
    "--test-type",
    ...extra,
  ];
  // Always an app window: no tab strip, no address bar; the page is the whole window. The real page is navigated
  // to over CDP once interception is on. (An --app=<url> in `extra` is taken as the app URL.)
  if (!extra.some((arg) => arg.startsWith("--app="))) args.push(`--app=${appUrl ?? "data:text/html,"}`);
  // Chromium's sandbox cannot run as root; everywhere else it stays on.
  if (process.getuid?.() === 0) args.unshift("--no-sandbox");
  return args;
}

export class ChromiumProcess {
  readonly cdp: CdpConnection;
  /** Resolves with Chromium's exit code (or signal) when the browser process is gone and the profile removed. */
  readonly exited: Promise<number | null>;

  private constructor(
    readonly process: Bun.Subprocess,
    readonly profileDir: string,
    cdp: CdpConnection,
    log: Logger,
  ) {
    this.cdp = cdp;
    this.exited = process.exited.then((code) => {
      rmSync(profileDir, { recursive: true, force: true });
      log.info("chromium exited", { code: code ?? String(process.signalCode) });
      return code;
    });
  }

  /** @throws Error when no network namespace can be made for it (noNetworkNamespaceProblem). */
  static start(options: ChromiumOptions): ChromiumProcess {
    const problem = noNetworkNamespaceProblem();
    if (problem !== null) {
      closeFd(options.waylandFd);
      throw new Error(problem);
    }
    const parent = options.profileParent ?? process.env.XDG_RUNTIME_DIR ?? tmpdir();
    removeStaleProfiles(parent, options.name, options.log);
    const profileDir = mkdtempSync(join(parent, `weft-chromium-${options.name}-`));
    const env: Record<string, string> = {};
    for (const key of ["PATH", "HOME", "LANG", "XDG_RUNTIME_DIR", "TZ", "FONTCONFIG_FILE"]) {
      if (process.env[key] !== undefined) env[key] = process.env[key]!;
    }
    // fd 3: DevTools commands in, fd 4: DevTools out, fd 5: the Wayland connection. Nothing else is inherited;
    // the bus address in particular stays with us.
    // setpriv first: the parent-death signal survives unshare's exec into a namespace its own user owns.
    const launcher = [...((options.dieWithParent ?? true) && existsSync(SETPRIV) ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []), ...NO_NETWORK];
    const child = Bun.spawn([...launcher, CHROMIUM, ...chromiumArgs(profileDir, options.windowClass, options.extraArgs, options.appUrl)], {
      env: { ...env, WAYLAND_SOCKET: "5", WAYLAND_DISPLAY: "", DISPLAY: "" },
      stdio: ["ignore", "ignore", "pipe", "pipe", "pipe", options.waylandFd],
    });
    closeFd(options.waylandFd);
    const cdp = new CdpConnection(child.stdio[3] as number, child.stdio[4] as number);
    // Chromium is chatty on stderr; keep what it says for the log at debug level, and errors at warn.
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr as ReadableStream<Uint8Array>) {
        for (const line of decoder.decode(chunk, { stream: true }).split("\n")) {
          if (line.trim() === "") continue;
          // Expected noise: it looks for buses it is not given, a GPU that is not there, and reports the DevTools
          // pipe closing when we stop it.
          const expected = /:ERROR:dbus\/|drmGetDevices2|devtools_pipe_handler/.test(line);
          if (/FATAL/.test(line) || (/:ERROR:/.test(line) && !expected)) options.log.warn("chromium", { line: line.slice(0, 500) });
          else options.log.debug("chromium", { line: line.slice(0, 500) });
        }
      }
    })().catch(() => {});
    return new ChromiumProcess(child, profileDir, cdp, options.log);
  }

  /** Attaches to the first page target (flattened session) and returns its session id. */
  async attachToPage(): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { targetInfos } = await this.cdp.send<{ targetInfos: { targetId: string; type: string }[] }>("Target.getTargets");
      const page = targetInfos.find((t) => t.type === "page");
      if (page !== undefined) {
        const { sessionId } = await this.cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId: page.targetId, flatten: true });
        return sessionId;
      }
      if (Date.now() > deadline) throw new Error("Chromium opened no page within 30 s");
      await Bun.sleep(50);
    }
  }

  /** Asks Chromium to quit (closes the DevTools pipe), then kills it if it is still there after `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.cdp.close();
      const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
      await this.process.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }
}

/**
 * Removes profile directories of earlier views named `name` under `parent` whose browser is gone: a view host
 * killed with SIGKILL cannot remove its own. Only a directory whose `SingletonLock` (Chromium's "<host>-<pid>"
 * link) names this host and a pid that no longer exists is removed; anything else is left alone.
 */
export function removeStaleProfiles(parent: string, name: string, log: Logger): number {
  const prefix = `weft-chromium-${name}-`;
  let removed = 0;
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((entry) => entry.startsWith(prefix));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const dir = join(parent, entry);
    let owner: string;
    try {
      owner = readlinkSync(join(dir, "SingletonLock"));
    } catch {
      continue; // no lock: starting right now, or not a Chromium profile
    }
    const match = /^(.*)-(\d+)$/.exec(owner);
    if (match === null || match[1] !== hostname()) continue;
    if (processExists(Number(match[2]))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
    log.info("removed a stale browser profile", { dir });
  }
  return removed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
