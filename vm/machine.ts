/**
 * One boot of the WEFT OS image under QEMU: the command line, the accelerator, the shares, and the process.
 *
 *   qemu-system-x86_64 -accel kvm|tcg -m <MiB> -smp <n>
 *     -kernel vmlinuz -initrd initrd.img -append "root=/dev/vda … weft.mode=<mode>"   the image's own kernel
 *     -drive disk.img,snapshot=on | overlay.qcow2          the image is never written: changes are dropped at
 *                                                          exit, or kept in an overlay (--keep)
 *     -virtfs <checkout> as "weft", <wasmtime dir> as "weft-wasmtime", read-only     (9p; fstab mounts them)
 *     -device virtserialport name=org.weft.vm.agent        the control channel (agent.ts), when asked for
 *     -qmp unix:qmp.sock                                    QEMU's own control: quit, screendump
 *     -serial file:serial.log | mon:stdio                   the kernel's and systemd's console
 *
 * KVM is used when a short probe shows it boots a kernel here; otherwise TCG (PLATFORM-NOTES: this host's KVM
 * hangs). The probe's answer is kept per host boot in kvm-probe.json.
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "./build.ts";
import { REPO, vmCacheDir, type ImagePaths } from "./image.ts";

export type Accelerator = "kvm" | "tcg";
/** `test` lets the smoke test read pages (docs/vm.md); `plain` boots without WEFT (the benchmark's baseline). */
export type BootMode = "normal" | "test" | "plain";

export class MachineError extends Error {
  override name = "MachineError";
}

/** QEMU's program: WEFT_VM_QEMU, else qemu-system-x86_64 from PATH. */
export function qemuProgram(env = process.env): string {
  return env.WEFT_VM_QEMU ?? "qemu-system-x86_64";
}

/** Fails with what to do when QEMU cannot be started at all. */
export function requireQemu(env = process.env): string {
  const program = qemuProgram(env);
  const probe = spawnSync(program, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new MachineError(
      `${program} cannot be run (${probe.error?.message ?? `exit ${probe.status}`}): install Debian's qemu-system-x86 (vm/build installs it), or point WEFT_VM_QEMU at a QEMU`,
    );
  }
  return program;
}

/** The host libwasmtime.so the guest's runtimes load: WEFT_WASMTIME_LIB, else the checkout's cargo build. */
export function hostWasmtimeLibrary(env = process.env): string {
  const library = env.WEFT_WASMTIME_LIB ?? join(REPO, "native/wasmtime/target/release/libwasmtime.so");
  if (!existsSync(library)) throw new MachineError(`${library} does not exist: run scripts/setup.sh, which builds it`);
  return library;
}

/**
 * A directory holding the library as `libwasmtime.so` (the name the guest's environment.d gives), refreshed when
 * the host's changes: QEMU shares directories, and the host's may hold gigabytes of cargo output.
 */
export function stageWasmtimeShare(library: string, cache = vmCacheDir()): string {
  const dir = join(cache, "share-wasmtime");
  const staged = join(dir, "libwasmtime.so");
  mkdirSync(dir, { recursive: true });
  const source = statSync(library);
  if (!existsSync(staged) || statSync(staged).size !== source.size || statSync(staged).mtimeMs !== source.mtimeMs) {
    copyFileSync(library, staged);
    utimesSync(staged, source.atime, source.mtime);
  }
  return dir;
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "unknown";
  }
}

/**
 * KVM if it boots the image's kernel to its first console line within `deadlineMs`, else TCG. `/dev/kvm` alone
 * proves nothing: on a host that is itself a VM it may exist and hang (PLATFORM-NOTES).
 */
export async function chooseAccelerator(image: ImagePaths, options: { deadlineMs?: number; cache?: string } = {}): Promise<{ accel: Accelerator; why: string }> {
  if (!existsSync("/dev/kvm")) return { accel: "tcg", why: "no /dev/kvm" };
  const record = join(options.cache ?? vmCacheDir(), "kvm-probe.json");
  const qemu = qemuProgram();
  const version = spawnSync(qemu, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
  const id = `${bootId()} ${version}`;
  try {
    const kept = JSON.parse(readFileSync(record, "utf8")) as { id: string; accel: Accelerator; why: string };
    if (kept.id === id && (kept.accel === "kvm" || kept.accel === "tcg")) return { accel: kept.accel, why: `${kept.why} (probed earlier this host boot)` };
  } catch {
    // no record yet
  }
  const deadlineMs = options.deadlineMs ?? 15_000;
  const started = performance.now();
  const child = spawn(
    qemu,
    ["-accel", "kvm", ...cpuArguments("kvm"), "-m", "256", "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", image.kernel, "-append", "console=ttyS0 panic=-1 root=/dev/null"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const booted = await new Promise<boolean>((resolve) => {
    let seen = "";
    const timer = setTimeout(() => resolve(false), deadlineMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (/Linux version/.test(seen)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(/Linux version/.test(seen));
    });
  });
  child.kill("SIGKILL");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const result: { accel: Accelerator; why: string } = booted
    ? { accel: "kvm", why: `KVM booted a kernel in ${seconds} s` }
    : { accel: "tcg", why: `KVM did not boot a kernel within ${deadlineMs / 1000} s` };
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(record, JSON.stringify({ id, ...result }) + "\n");
  return result;
}

/** What every boot starts from: the image, the accelerator chosen for it (and why), the staged Wasmtime share. */
export interface BootPlan {
  image: ImagePaths;
  accel: Accelerator;
  why: string;
  wasmtimeShare: string;
}

/** QEMU present, the image built when missing, stale or damaged, the accelerator probed, the library staged. */
export async function prepareBoot(): Promise<BootPlan> {
  requireQemu();
  const image = await build({ rebuild: false });
  const { accel, why } = await chooseAccelerator(image);
  return { image, accel, why, wasmtimeShare: stageWasmtimeShare(hostWasmtimeLibrary()) };
}

/** TCG's `max` model has the instruction set extensions Chromium needs; KVM passes the host's through. */
function cpuArguments(accel: Accelerator): string[] {
  return ["-cpu", accel === "tcg" ? "max" : "host"];
}

export interface MachineOptions {
  image: ImagePaths;
  accel: Accelerator;
  memoryMiB: number;
  cpus: number;
  mode: BootMode;
  /** Where sockets go (qmp.sock, agent.sock) and, without a console, serial.log. */
  runDir: string;
  /** The serial console on this terminal (`vm/run` without a window), else into runDir/serial.log. */
  console: boolean;
  /** A GTK window showing the VM's display. */
  window: boolean;
  /** Add the control channel's port (agent.ts). */
  agent: boolean;
  /** A qcow2 overlay that keeps the VM's changes; without it, changes are dropped at exit. */
  overlay?: string;
  /** The directory shared as "weft-wasmtime" (stageWasmtimeShare). */
  wasmtimeShare: string;
  /** Words added to the kernel command line. */
  append?: string[];
  /** More QEMU arguments, last (tests: `-S` keeps the guest from ever running). */
  extraArguments?: string[];
}

export function qemuArguments(options: MachineOptions): string[] {
  const append = ["root=/dev/vda", "rw", ...(options.window ? ["console=tty0"] : []), "console=ttyS0", "quiet", `weft.mode=${options.mode}`, ...(options.append ?? [])];
  const drive = options.overlay !== undefined ? `file=${options.overlay},format=qcow2,if=virtio` : `file=${options.image.disk},format=raw,if=virtio,snapshot=on`;
  const share = (path: string, tag: string) => ["-virtfs", `local,path=${path},mount_tag=${tag},security_model=none,readonly=on`];
  return [
    "-accel", options.accel === "tcg" ? "tcg,thread=multi" : "kvm",
    ...cpuArguments(options.accel),
    "-m", String(options.memoryMiB),
    "-smp", String(options.cpus),
    "-kernel", options.image.kernel,
    "-initrd", options.image.initrd,
    "-append", append.join(" "),
    "-drive", drive,
    ...share(REPO, "weft"),
    ...share(options.wasmtimeShare, "weft-wasmtime"),
    "-nic", "none",
    "-no-reboot",
    "-qmp", `unix:${join(options.runDir, "qmp.sock")},server=on,wait=off`,
    ...(options.agent
      ? ["-device", "virtio-serial-pci", "-chardev", `socket,id=agent,path=${join(options.runDir, "agent.sock")},server=on,wait=off`, "-device", "virtserialport,chardev=agent,name=org.weft.vm.agent"]
      : []),
    ...(options.window ? ["-display", "gtk", "-vga", "none", "-device", "virtio-gpu-pci"] : ["-display", "none", "-vga", "none"]),
    ...(options.console ? ["-serial", "mon:stdio"] : ["-serial", `file:${join(options.runDir, "serial.log")}`]),
    ...(options.extraArguments ?? []),
  ];
}

/** A running QEMU. */
export class Machine {
  readonly process: ChildProcess;
  readonly startedAt = performance.now();
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly serialLog: string;
  readonly qmpSocket: string;
  readonly agentSocket: string;
  #stderr = "";

  private constructor(readonly options: MachineOptions, program: string) {
    mkdirSync(options.runDir, { recursive: true });
    this.serialLog = join(options.runDir, "serial.log");
    this.qmpSocket = join(options.runDir, "qmp.sock");
    this.agentSocket = join(options.runDir, "agent.sock");
    this.process = spawn(program, qemuArguments(options), { stdio: options.console ? "inherit" : ["ignore", "ignore", "pipe"] });
    this.process.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.process.once("error", (error) => {
        this.#stderr += error.message;
        resolve({ code: null, signal: "spawn failed" });
      });
      this.process.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  static start(options: MachineOptions): Machine {
    return new Machine(options, requireQemu());
  }

  /** Seconds since QEMU was started. */
  uptime(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** What QEMU printed on stderr (its own errors), last 4 kB. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The last `lines` of the serial console log, for error messages. */
  serialTail(lines = 8): string {
    try {
      return readFileSync(this.serialLog, "utf8").replace(/\r/g, "").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no serial output)";
    }
  }

  /** Ends QEMU at once (the guest gets no shutdown: use the agent's poweroff for that). */
  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
    await this.exited;
  }

  /** Waits for QEMU to exit by itself (a guest poweroff) within `deadlineMs`; true if it did. */
  async waitForExit(deadlineMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)));
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }
}
