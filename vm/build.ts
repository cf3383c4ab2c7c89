/**
 * vm/build [--rebuild]: the WEFT OS disk image, from Debian packages only, cached under ~/.cache/weft/vm and
 * keyed by what goes into it (image.ts). Does nothing when the image for today's inputs is there and sound.
 *
 *   1. host tools      mmdebstrap, QEMU, e2fsprogs (the `vm-host` role of scripts/debian-packages.txt)
 *   2. free space      the build needs about BUILD_BYTES in the cache's file system
 *   3. root file system mmdebstrap (minbase, the `run` and `vm` roles) from the host's own apt sources, then
 *                      vm/guest/customize.sh: the weft user, autologin, the shares, the boot-time setup
 *   4. kernel          the image's /boot/vmlinuz and initrd, next to the disk (QEMU boots them directly)
 *   5. disk            mkfs.ext4 -d: an ext4 image of the tree, without loop mounts
 *   6. done            image.json written last, the build directory renamed into place, older images removed
 *
 * A build happens in `.build-<key>-<pid>/` and is renamed only when complete, so an interrupted build never
 * leaves something that looks like an image. Exit codes: 0 ready, 1 a step failed (the message says what to
 * do), 2 usage.
 */

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkImage, debianPackages, IMAGE_FORMAT, imageInputs, imagePaths, REPO, vmCacheDir, type ImageManifest, type ImagePaths } from "./image.ts";

/** Room a build needs: the root tarball (~1 GB), the tree (~1.5 GB), the disk's used blocks (~1.5 GB). */
export const BUILD_BYTES = 5 * 1024 ** 3;
/** The disk's size as the guest sees it (sparse on the host): the system plus room for a user's apps and data. */
const DISK_HEADROOM_BYTES = 3 * 1024 ** 3;
const USAGE = "usage: vm/build [--rebuild]\n\n  Builds the WEFT OS disk image into ~/.cache/weft/vm (docs/vm.md); --rebuild builds it again even when it is up to date.";

export class BuildError extends Error {
  override name = "BuildError";
}

/** One numbered progress line per step, with the step's time when it ends. */
class Progress {
  #step = 0;
  #started = 0;
  constructor(private readonly steps: number) {}
  begin(what: string): void {
    this.#step++;
    this.#started = performance.now();
    process.stderr.write(`vm/build: [${this.#step}/${this.steps}] ${what} …\n`);
  }
  end(detail = ""): void {
    process.stderr.write(`vm/build: [${this.#step}/${this.steps}] done in ${((performance.now() - this.#started) / 1000).toFixed(0)} s${detail ? `: ${detail}` : ""}\n`);
  }
}

/** Runs `argv`, its output appended to `log`; rejects with `hint` and the log's last lines when it fails. */
async function run(argv: string[], log: string, hint: string, stdin?: string): Promise<void> {
  const out = createWriteStream(log, { flags: "a" });
  await new Promise<void>((resolve) => out.once("open", () => resolve()));
  out.write(`\n$ ${argv.join(" ")}\n`);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin === undefined ? "ignore" : "pipe", out, out] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  const code = await new Promise<number | string>((resolve) => {
    child.once("error", (error) => resolve(error.message));
    child.once("exit", (status, signal) => resolve(status ?? String(signal)));
  });
  await new Promise<void>((resolve) => out.end(resolve));
  if (code !== 0) {
    const tail = readFileSync(log, "utf8").trimEnd().split("\n").slice(-6).map((line) => `    ${line}`).join("\n");
    throw new BuildError(`${argv[0]} failed (${typeof code === "number" ? `exit ${code}` : code}): ${hint}\n  last lines of ${log}:\n${tail}`);
  }
}

function ensureHostTools(): void {
  const packages = debianPackages("vm-host");
  const result = spawnSync("bash", ["-c", 'source "$1"; shift; install_debian_packages "$@"', "bash", join(REPO, "scripts/lib/debian-packages.sh"), ...packages], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new BuildError(`could not install ${packages.join(", ")}: install them with apt-get as root, then run vm/build again`);
}

function ensureFreeSpace(dir: string): void {
  const stats = statfsSync(dir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  if (free < BUILD_BYTES) {
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    throw new BuildError(`${dir} has ${gib(free)} free; building the image needs ${gib(BUILD_BYTES)}: free some space there, or set WEFT_VM_CACHE to a directory on a larger file system`);
  }
}

/** Removes a build directory; it never holds mounts (mmdebstrap writes a tarball), so a plain removal is safe. */
function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Builds the image when it is missing, stale or damaged (or always, with `rebuild`); returns the image to boot. */
export async function build(options: { rebuild: boolean }): Promise<ImagePaths> {
  const inputs = imageInputs();
  const paths = imagePaths(inputs.key);
  const state = checkImage(paths);
  if (state.state === "ready" && !options.rebuild) {
    process.stderr.write(`vm/build: image ${inputs.key} is up to date (${paths.dir})\n`);
    return paths;
  }
  if (state.state === "corrupt") process.stderr.write(`vm/build: the cached image is damaged (${state.problem}): building it again\n`);
  if (inputs.aptSources.length === 0) throw new BuildError("this machine has no apt sources (/etc/apt/sources.list or sources.list.d/): the image is built from the same sources apt uses here");

  const cache = vmCacheDir();
  mkdirSync(cache, { recursive: true });
  const work = join(cache, `.build-${inputs.key}-${process.pid}`);
  const log = join(cache, "build.log");
  writeFileSync(log, `vm/build of image ${inputs.key}, ${new Date().toISOString()}\n`);
  const progress = new Progress(6);
  const started = performance.now();
  const interrupted = () => {
    removeBuild(work);
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    progress.begin("host tools (mmdebstrap, QEMU, e2fsprogs)");
    ensureHostTools();
    progress.end();

    progress.begin(`free space in ${cache}`);
    ensureFreeSpace(cache);
    progress.end();

    mkdirSync(work);
    const tarball = join(work, "root.tar");
    progress.begin(`root file system from ${inputs.packages.length} Debian packages (mmdebstrap; about 2–5 min; log: ${log})`);
    await run(
      [
        "mmdebstrap",
        "--variant=minbase",
        `--include=${inputs.packages.join(",")}`,
        `--customize-hook=${join(REPO, "vm/guest/customize.sh")} "$1"`,
        // The image's package list, for image.json.
        `--customize-hook=chroot "$1" dpkg-query -W -f='\${Package}=\${Version}\\n' > ${join(work, "installed.txt")}`,
        "bookworm",
        tarball,
        ...inputs.aptSources,
      ],
      log,
      "check that apt can reach this machine's package sources (apt-get update), and that you are root",
    );
    progress.end();

    progress.begin("kernel and initrd");
    const tree = join(work, "root");
    mkdirSync(tree);
    await run(["tar", "-xf", tarball, "-C", tree, "--numeric-owner"], log, "the tarball mmdebstrap wrote cannot be unpacked: is the disk full?");
    rmSync(tarball);
    const kernels = readdirSync(join(tree, "boot")).filter((name) => /^vmlinuz-/.test(name)).sort();
    const kernelVersion = kernels.at(-1)?.slice("vmlinuz-".length);
    if (kernelVersion === undefined || !existsSync(join(tree, "boot", `initrd.img-${kernelVersion}`))) {
      throw new BuildError("the root file system has no kernel and initrd in /boot: linux-image-amd64 must be in the `vm` role of scripts/debian-packages.txt");
    }
    // Copies: the image keeps its own /boot as Debian made it; QEMU boots these.
    copyFileSync(join(tree, "boot", `vmlinuz-${kernelVersion}`), join(work, "vmlinuz"));
    copyFileSync(join(tree, "boot", `initrd.img-${kernelVersion}`), join(work, "initrd.img"));
    progress.end(kernelVersion);

    progress.begin("ext4 disk image (mkfs.ext4 -d)");
    const used = Number(spawnSync("du", ["-sb", tree], { encoding: "utf8" }).stdout.split("\t")[0]);
    const diskBytes = Math.ceil((used + DISK_HEADROOM_BYTES) / 1024 ** 3) * 1024 ** 3;
    const disk = join(work, "disk.img");
    await run(["truncate", "-s", String(diskBytes), disk], log, "cannot create the disk image file");
    await run(["mkfs.ext4", "-q", "-F", "-L", "weft-root", "-d", tree, disk], log, "mkfs.ext4 could not fill the disk image: is the disk full?");
    removeBuild(tree);
    progress.end(`${(diskBytes / 1024 ** 3).toFixed(0)} GiB (sparse)`);

    progress.begin("finish");
    const manifest: ImageManifest = {
      format: IMAGE_FORMAT,
      key: inputs.key,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((performance.now() - started) / 1000),
      packages: inputs.packages,
      installed: readFileSync(join(work, "installed.txt"), "utf8").split("\n").filter(Boolean),
      kernelVersion,
      diskBytes,
    };
    rmSync(join(work, "installed.txt"));
    writeFileSync(join(work, "image.json"), JSON.stringify(manifest, null, 2) + "\n");
    removeBuild(paths.dir);
    renameSync(work, paths.dir);
    for (const name of readdirSync(cache)) {
      if (name.startsWith("image-") && name !== `image-${inputs.key}`) removeBuild(join(cache, name));
    }
    const final = checkImage(paths);
    if (final.state !== "ready") throw new BuildError(`the new image does not check out: ${final.state === "corrupt" ? final.problem : "missing"}`);
    progress.end(paths.dir);
    return paths;
  } catch (error) {
    removeBuild(work);
    throw error;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = argv.find((arg) => arg !== "--rebuild");
  if (unknown !== undefined) {
    console.error(`vm/build: unknown argument ${JSON.stringify(unknown.slice(0, 64))}\n${USAGE}`);
    return 2;
  }
  try {
    console.log((await build({ rebuild: argv.includes("--rebuild") })).dir);
    return 0;
  } catch (error) {
    console.error(`vm/build: ${error instanceof BuildError ? error.message : (error as Error).stack}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
