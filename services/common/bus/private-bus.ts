/**
 * A private `dbus-daemon`: for each test file, for the demo, and for `weft session`, which puts the whole mesh
 * on a bus of its own. Its policy lets every client own names and call every service (WEFT's services check
 * their callers themselves), but not watch other clients' traffic: no eavesdropping (no rule allows it) and no
 * monitoring (BecomeMonitor is denied to everyone, the daemon's own user and root included; dbus-daemon applies
 * send rules to calls of its own driver), so a message reaches its destination only. A test that wants to show
 * what a monitor would see asks for `monitoring: "allowed"`, the policy of an ordinary user bus.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivateBus extends AsyncDisposable {
  /** The D-Bus address to connect to (`unix:path=…,guid=…`). */
  readonly address: string;
  readonly pid: number;
  /** Temporary directory holding the config and the socket; removed by close(). */
  readonly dir: string;
  /** Kills the daemon, waits for it to exit and removes the directory. Safe to call twice. */
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 10_000;

export interface PrivateBusOptions {
  /** Listen on a socket file in the temp dir (default), or on an abstract socket named after it. */
  listen?: "path" | "abstract";
  /** Whether clients may become monitors (BecomeMonitor); "denied" (default) for every bus WEFT runs on. */
  monitoring?: "denied" | "allowed";
}

/** Starts a private `dbus-daemon` (the policy above) with EXTERNAL auth, listening in a temp dir. */
export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = mkdtempSync(join(tmpdir(), "weft-bus-"));
  const listen = options.listen === "abstract" ? `unix:abstract=${join(dir, "socket")}` : `unix:path=${join(dir, "socket")}`;
  const configPath = join(dir, "bus.conf");
  writeFileSync(
    configPath,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>${options.monitoring === "allowed" ? "" : `
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>`}
  </policy>
</busconfig>
`,
  );
  const daemon = Bun.spawn(["dbus-daemon", `--config-file=${configPath}`, "--print-address=1", "--print-pid=1", "--nofork"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderrText = new Response(daemon.stderr).text();

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    daemon.kill("SIGTERM");
    const exited = await Promise.race([daemon.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!exited) {
      daemon.kill("SIGKILL");
      await daemon.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const lines = await readLines(daemon.stdout, 2, STARTUP_TIMEOUT_MS);
    const [address, pidText] = lines;
    if (address === undefined || !address.startsWith("unix:") || pidText === undefined || !/^\d+$/.test(pidText)) {
      throw new Error(`dbus-daemon printed ${JSON.stringify(lines)} instead of an address and a pid`);
    }
    return { address, pid: Number(pidText), dir, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw new Error(`could not start a private dbus-daemon: ${(error as Error).message}\n${await stderrText}`);
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, count: number, timeoutMs: number): Promise<string[]> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timeout = Bun.sleep(timeoutMs).then(() => "timeout" as const);
  try {
    while (text.split("\n").length <= count) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout") throw new Error(`no output within ${timeoutMs} ms`);
      if (next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n").slice(0, count).map((line) => line.trim());
}

