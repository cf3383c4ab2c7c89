/**
 * A private world for runtime tests: a private dbus-daemon, a HOME with its own store and trust store, and
 * real `weft-runtime` processes started the way appd will start them, with the test's connection as their
 * supervisor.
 */

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus, contractPath, type BusConnection, type ServiceClient } from "../common/bus/index.ts";
import { startPrivateBus, type PrivateBus } from "../common/bus/testing.ts";
import { generateKeyPair, readSecretKey } from "../common/keys.ts";
import { signPackage } from "../common/signing.ts";
import { installPackage } from "../common/store.ts";
import { loadTrustStore } from "../common/trust.ts";
import { RUNTIME_INTERFACE, RUNTIME_PATH, runtimeBusName } from "./interface.ts";

const REPO = join(import.meta.dir, "../..");
const MAIN = join(import.meta.dir, "main.ts");
export const DEMO_DIST = join(REPO, "apps/dist");
export const DEMO_PUB = join(REPO, "apps/keys/weft-sign.pub");

export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

export class RuntimeWorld {
  readonly root = mkdtempSync(join(tmpdir(), "weft-runtime-test-"));
  readonly home = join(this.root, "home");
  readonly env: Record<string, string>;
  bus!: PrivateBus;
  /** The test's connection: supervisor of every runtime it starts, and their UI end unless told otherwise. */
  supervisor!: BusConnection;
  testKey!: { secret: Uint8Array; pubFile: string };

  constructor() {
    mkdirSync(join(this.home, ".config/weft/trusted.d"), { recursive: true });
    this.env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.home,
      WEFT_SYSCONFDIR: join(this.root, "etc"),
      WEFT_LOG_FORMAT: "json",
      ...(process.env.WEFT_WASMTIME_LIB ? { WEFT_WASMTIME_LIB: process.env.WEFT_WASMTIME_LIB } : {}),
    };
  }

  async start(): Promise<void> {
    this.bus = await startPrivateBus();
    this.env.WEFT_BUS_ADDRESS = this.bus.address;
    this.supervisor = await connectBus({ address: this.bus.address });
    cpSync(DEMO_PUB, join(this.home, ".config/weft/trusted.d/weft-demo.pub"));
    const keys = await generateKeyPair(join(this.root, "testkey"));
    cpSync(keys.publicKeyFile, join(this.home, ".config/weft/trusted.d/test.pub"));
    this.testKey = { secret: await readSecretKey(keys.secretKeyFile), pubFile: keys.publicKeyFile };
  }

  /** Installs a package directory into this world's store (verified against its trust store, like weft-pack). */
  async install(dir: string, options: { acceptCapabilities?: boolean } = {}): Promise<void> {
    await installPackage({
      source: dir,
      root: join(this.home, ".local/share/weft/apps"),
      trustStore: await loadTrustStore(this.env),
      acceptCapabilities: options.acceptCapabilities,
    });
  }

  /** A copy of a demo package with `edit` applied to its manifest text, signed with the world's test key. */
  async variant(appId: string, name: string, edit: (manifest: string) => string): Promise<string> {
    const dir = join(this.root, "variants", name);
    cpSync(join(DEMO_DIST, appId), dir, { recursive: true });
    const manifestFile = join(dir, "wapp.toml");
    writeFileSync(manifestFile, edit(await Bun.file(manifestFile).text()));
    await signPackage(dir, this.testKey.secret);
    return dir;
  }

  /** Starts `weft-runtime <appId> <sessionId> --supervisor <ours>`. */
  spawn(appId: string, sessionId: number, options: { supervisor?: string } = {}): RuntimeProcess {
    return new RuntimeProcess(this, appId, sessionId, options.supervisor ?? this.supervisor.uniqueName);
  }

  async close(): Promise<void> {
    await this.supervisor?.close();
    await this.bus?.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

export class RuntimeProcess {
  readonly process: ReturnType<typeof Bun.spawn>;
  readonly busName: string;
  readonly client: ServiceClient;
  readonly logLines: any[] = [];
  readonly exitCode: Promise<number>;

  constructor(
    readonly world: RuntimeWorld,
    readonly appId: string,
    readonly sessionId: number,
    supervisor: string,
  ) {
    this.busName = runtimeBusName(BigInt(sessionId));
    this.client = world.supervisor.client(contractPath(RUNTIME_INTERFACE), this.busName, { path: RUNTIME_PATH });
    this.process = Bun.spawn([process.execPath, MAIN, appId, String(sessionId), "--supervisor", supervisor], {
      env: world.env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.#collect(this.process.stderr as ReadableStream<Uint8Array>);
    this.exitCode = this.process.exited;
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          this.logLines.push(JSON.parse(line));
        } catch {
          this.logLines.push({ raw: line });
        }
      }
    }
  }

  /** Waits until the runtime owns its bus name and reports `state`. */
  async waitForState(state: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await this.client.get("State")) === state) return;
      } catch {
        // not on the bus yet
      }
      if (Date.now() > deadline) throw new Error(`runtime ${this.busName} did not reach ${state}; log:\n${JSON.stringify(this.logLines, null, 1)}`);
      if (this.process.exitCode !== null) throw new Error(`runtime exited with ${this.process.exitCode} before ${state}; log:\n${JSON.stringify(this.logLines, null, 1)}`);
      await Bun.sleep(20);
    }
  }

  #onMessage: (() => void) | undefined;

  /** Binds the test's connection as the UI end and collects the Message signals it receives. */
  async bindUi(): Promise<string[]> {
    const messages: string[] = [];
    await this.client.on("Message", (payload) => {
      messages.push(payload as string);
      this.#onMessage?.();
    });
    await this.client.call("BindUi", this.world.supervisor.uniqueName);
    return messages;
  }

  /** Resolves at the next Message signal (for latency measurements, where polling would add its own delay). */
  nextMessage(): Promise<void> {
    return new Promise((resolve) => {
      this.#onMessage = () => {
        this.#onMessage = undefined;
        resolve();
      };
    });
  }

  post(payload: string): Promise<unknown> {
    return this.client.call("Post", payload);
  }

  stop(reason = "test"): Promise<unknown> {
    return this.client.call("Stop", reason);
  }

  kill(): void {
    this.process.kill("SIGKILL");
  }
}
