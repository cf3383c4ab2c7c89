/**
 * A private world for runtime tests: a private dbus-daemon, a HOME with its own store and trust store, and
 * real `weft-runtime` processes started the way appd will start them, with the test's connection as their
 * supervisor.
 */

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBus, type BusConnection } from "../services/common/bus/index.ts";
import { startPrivateBus, type PrivateBus, type PrivateBusOptions } from "./bus.ts";
import { generateKeyPair, readSecretKey } from "../services/common/package/keys.ts";
import { signPackage } from "../services/common/package/signing.ts";
import { installPackage } from "../services/common/package/store.ts";
import { loadTrustStore } from "../services/common/package/trust.ts";
import { RuntimeHandle } from "../services/appd/children.ts";
import { openVerifiedPackage, type VerifiedPackage } from "../services/common/package/verified-package.ts";
import { assertAppId } from "../protocol/app-id.ts";
import { until } from "./until.ts";

const REPO = join(import.meta.dir, "..");
export const DEMO_DIST = join(REPO, "apps/dist");
export const DEMO_PUB = join(REPO, "apps/keys/weft-sign.pub");

export { until };

export class RuntimeWorld {
  readonly root = mkdtempSync(join(tmpdir(), "weft-runtime-test-"));
  readonly home = join(this.root, "home");
  readonly env: Record<string, string>;
  bus!: PrivateBus;
  /** The test's connection: supervisor of every runtime it starts, and their UI end unless told otherwise. */
  supervisor!: BusConnection;
  testKey!: { secret: Uint8Array; secretFile: string; pubFile: string };

  /**
   * `bus`: options of the world's private bus (a test that plays a monitor allows monitoring); `logLevel`: the
   * runtimes' (debug shows each message queued, waited for and sent).
   */
  constructor(private readonly options: { bus?: PrivateBusOptions; logLevel?: "debug" | "info" } = {}) {
    mkdirSync(join(this.home, ".config/weft/trusted.d"), { recursive: true });
    this.env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.home,
      WEFT_SYSCONFDIR: join(this.root, "etc"),
      WEFT_LOG_FORMAT: "json",
      ...(options.logLevel ? { WEFT_LOG_LEVEL: options.logLevel } : {}),
      ...(process.env.WEFT_WASMTIME_LIB ? { WEFT_WASMTIME_LIB: process.env.WEFT_WASMTIME_LIB } : {}),
    };
  }

  async start(): Promise<void> {
    this.bus = await startPrivateBus(this.options.bus);
    this.env.WEFT_BUS_ADDRESS = this.bus.address;
    try {
      this.supervisor = await connectBus({ address: this.bus.address });
    } catch (error) {
      await this.bus.close(); // close() would not run: the caller never got a started world
      throw error;
    }
    cpSync(DEMO_PUB, join(this.home, ".config/weft/trusted.d/weft-demo.pub"));
    const keys = await generateKeyPair(join(this.root, "testkey"));
    cpSync(keys.publicKeyFile, join(this.home, ".config/weft/trusted.d/test.pub"));
    this.testKey = { secret: await readSecretKey(keys.secretKeyFile), secretFile: keys.secretKeyFile, pubFile: keys.publicKeyFile };
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

  /** `appId`'s installed package verified as appd verifies it before a launch (its record goes to the children). */
  verified(appId: string): Promise<VerifiedPackage> {
    return openVerifiedPackage(assertAppId(appId), "run", this.env);
  }

  /** Verifies `appId`'s package, then starts `weft-runtime <appId> <sessionId> --supervisor <ours>` with its record. */
  async spawn(appId: string, sessionId: number, options: { supervisor?: string } = {}): Promise<RuntimeProcess> {
    return new RuntimeProcess(this, await this.verified(appId), sessionId, options.supervisor ?? this.supervisor.uniqueName);
  }

  async close(): Promise<void> {
    await this.supervisor?.close();
    await this.bus?.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A runtime started by the test, with its log parsed (WEFT_LOG_FORMAT=json) and its messages collected. */
export class RuntimeProcess extends RuntimeHandle {
  readonly logLines: any[] = [];
  #onMessage: (() => void) | undefined;

  constructor(world: RuntimeWorld, pkg: VerifiedPackage, sessionId: number, supervisor: string) {
    super({
      package: pkg,
      sessionId: BigInt(sessionId),
      supervisor: world.supervisor,
      supervisorName: supervisor,
      env: world.env,
      onLogLine: (line) => {
        try {
          this.logLines.push(JSON.parse(line));
        } catch {
          this.logLines.push({ raw: line });
        }
      },
    });
  }

  /** Binds the test's connection as the UI end and collects the Message signals it receives. */
  async bindUi(): Promise<string[]> {
    const messages: string[] = [];
    await this.bindSupervisorAsUi((payload) => {
      messages.push(payload);
      this.#onMessage?.();
    });
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

  kill(): void {
    this.process.kill("SIGKILL");
  }
}
