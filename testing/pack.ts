/**
 * Runs the real weft-pack (a `bun services/pack/main.ts` process) in a private world: its own HOME, config,
 * store and system config dir, so tests never read or write the machine's trust store or packages.
 */

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../services/pack/main.ts");

export interface PackRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when the run used --json. */
  json?: any;
}

export class PackWorld {
  readonly root: string;
  readonly home: string;
  readonly store: string;
  readonly trusted: string;
  readonly revoked: string;
  readonly env: Record<string, string>;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), "weft-pack-test-"));
    this.home = join(this.root, "home");
    this.store = join(this.home, ".local/share/weft/apps");
    this.trusted = join(this.home, ".config/weft/trusted.d");
    this.revoked = join(this.home, ".config/weft/revoked.d");
    mkdirSync(this.home, { recursive: true });
    this.env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin:/usr/sbin:/sbin",
      HOME: this.home,
      WEFT_SYSCONFDIR: join(this.root, "etc"),
      TMPDIR: join(this.root, "tmp"),
    };
    mkdirSync(this.env.TMPDIR!, { recursive: true });
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async pack(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<PackRun> {
    const env = { ...this.env, ...options.env } as Record<string, string>;
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = Bun.spawn([process.execPath, MAIN, ...args], {
      cwd: options.cwd ?? this.root,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    const run: PackRun = { code, stdout, stderr };
    if (args.includes("--json")) run.json = JSON.parse(stdout);
    return run;
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
