/**
 * vm/run [--memory MIB] [--cpus N] [--keep] [--console]: boots WEFT OS under QEMU, building the image first
 * when it is missing, stale or damaged (vm/build). A window shows the VM's display when this machine has one
 * (DISPLAY or WAYLAND_DISPLAY), else the serial console is this terminal (Ctrl-A X quits QEMU). The checkout is
 * shared read-only, so the VM runs this checkout's WEFT. Changes inside the VM are dropped when it stops, unless
 * --keep keeps them in an overlay beside the image (dropped when the image is rebuilt).
 *
 * Exit codes: QEMU's (0 after a poweroff in the guest), 1 when it cannot start, 2 usage.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BuildError } from "./build.ts";
import { vmCacheDir, type ImagePaths } from "./image.ts";
import { Machine, MachineError, prepareBoot, qemuProgram } from "./machine.ts";

const USAGE = `usage: vm/run [--memory MIB] [--cpus N] [--keep] [--console]

  Boots WEFT OS under QEMU (docs/vm.md), building its image first when needed.
    --memory MIB   the VM's memory (default 4096)
    --cpus N       its processors (default 2)
    --keep         keep the VM's changes for the next boot (an overlay beside the image)
    --console      the serial console on this terminal even when a display exists`;

export interface RunArgs {
  memoryMiB: number;
  cpus: number;
  keep: boolean;
  console: boolean;
}

/** A whole number within [min, max], or a usage error naming the option. */
export function boundedInteger(name: string, text: string, min: number, max: number): number {
  if (!/^[0-9]{1,7}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text.slice(0, 32))}`);
  }
  return Number(text);
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { memory: { type: "string", default: "4096" }, cpus: { type: "string", default: "2" }, keep: { type: "boolean", default: false }, console: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 64))}`);
  return {
    memoryMiB: boundedInteger("--memory", values.memory!, 1024, 262_144),
    cpus: boundedInteger("--cpus", values.cpus!, 1, 64),
    keep: values.keep!,
    console: values.console!,
  };
}

/** The overlay that keeps a VM's changes for this image; overlays of older images are removed. */
function keptOverlay(image: ImagePaths): string {
  const cache = vmCacheDir();
  const overlay = join(cache, `state-${image.key}.qcow2`);
  for (const name of readdirSync(cache)) {
    if (name.startsWith("state-") && name !== `state-${image.key}.qcow2`) {
      rmSync(join(cache, name), { force: true });
      process.stderr.write(`vm/run: the image was rebuilt, so the changes kept for the old one (${name}) are gone\n`);
    }
  }
  if (!existsSync(overlay)) {
    const made = spawnSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image.disk, "-F", "raw", overlay], { encoding: "utf8" });
    if (made.status !== 0) throw new MachineError(`qemu-img could not create ${overlay}: ${made.stderr.trim() || made.error?.message}`);
  }
  return overlay;
}

/** True when QEMU can open a GTK window here. */
function windowAvailable(): boolean {
  if (process.env.DISPLAY === undefined && process.env.WAYLAND_DISPLAY === undefined) return false;
  const help = spawnSync(qemuProgram(), ["-display", "help"], { encoding: "utf8" });
  if (/^gtk$/m.test(help.stdout)) return true;
  spawnSync("bash", ["-c", 'source "$1"; install_debian_packages $(debian_packages vm-window)', "bash", join(import.meta.dir, "../scripts/lib/debian-packages.sh")], { stdio: "inherit" });
  return /^gtk$/m.test(spawnSync(qemuProgram(), ["-display", "help"], { encoding: "utf8" }).stdout);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
  } catch (error) {
    console.error(`vm/run: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  let runDir: string | undefined;
  try {
    const { image, accel, why, wasmtimeShare } = await prepareBoot();
    const window = !args.console && windowAvailable();
    runDir = mkdtempSync(join(tmpdir(), "weft-vm-"));
    process.stderr.write(`vm/run: booting ${image.key} with ${accel.toUpperCase()} (${why}), ${args.memoryMiB} MiB, ${args.cpus} CPUs${window ? ", in a window" : ", serial console here (Ctrl-A X quits)"}\n`);
    const machine = Machine.start({
      image,
      accel,
      memoryMiB: args.memoryMiB,
      cpus: args.cpus,
      mode: "normal",
      runDir,
      console: !window,
      window,
      agent: false,
      overlay: args.keep ? keptOverlay(image) : undefined,
      wasmtimeShare,
    });
    if (window) process.stderr.write(`vm/run: the serial console goes to ${machine.serialLog}\n`);
    const { code, signal } = await machine.exited;
    if (code !== 0) process.stderr.write(`vm/run: QEMU ended with ${code ?? signal}${machine.stderr ? `: ${machine.stderr.trim()}` : ""}\n`);
    return code ?? 1;
  } catch (error) {
    const known = error instanceof MachineError || error instanceof BuildError;
    console.error(`vm/run: ${known ? (error as Error).message : (error as Error).stack}`);
    return 1;
  } finally {
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
