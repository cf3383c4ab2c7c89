/**
 * The WEFT OS disk image: where it is cached, what it is keyed by, and whether the cached one can be booted.
 *
 *   ~/.cache/weft/vm/                        ($XDG_CACHE_HOME/weft/vm; WEFT_VM_CACHE overrides it)
 *     image-<key>/                           one finished image, made by vm/build and never written to again
 *       disk.img                             ext4, the whole root file system (raw, sparse)
 *       vmlinuz  initrd.img                  the image's own Debian kernel, booted directly by QEMU
 *       image.json                           what went into it (ImageManifest), written last
 *     .build-<key>-<pid>/                    a build in progress; renamed to image-<key> once complete
 *     kvm-probe.json                         whether KVM worked on this host at its last boot (machine.ts)
 *
 * The key is a digest of everything the image is made from: the Debian packages the `run` and `vm` roles name,
 * the versions of the `run` packages on this host (the host's native builds must find the same libraries), the
 * host's apt sources (fed to mmdebstrap; never written into the repository), every file under vm/guest/, and the
 * build recipe itself. WEFT's own checkout is not in the image: vm/run shares it read-only, so editing WEFT
 * never rebuilds the image.
 */

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "..");
/** Bumped when the layout of an image directory changes in a way the key's inputs do not show. */
export const IMAGE_FORMAT = 1;

export type Env = Record<string, string | undefined>;

/** Where vm/ keeps its images: WEFT_VM_CACHE, else $XDG_CACHE_HOME/weft/vm, else ~/.cache/weft/vm. */
export function vmCacheDir(env: Env = process.env): string {
  if (env.WEFT_VM_CACHE?.startsWith("/")) return env.WEFT_VM_CACHE;
  const cache = env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(env.HOME?.startsWith("/") ? env.HOME : homedir(), ".cache");
  return join(cache, "weft", "vm");
}

export interface ImagePaths {
  key: string;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  manifest: string;
}

export function imagePaths(key: string, env: Env = process.env): ImagePaths {
  const dir = join(vmCacheDir(env), `image-${key}`);
  return { key, dir, disk: join(dir, "disk.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), manifest: join(dir, "image.json") };
}

/** What image.json records; `diskBytes` lets a truncated disk be told from a whole one without reading it. */
export interface ImageManifest {
  format: number;
  key: string;
  builtAt: string;
  buildSeconds: number;
  /** Debian packages asked for (the run and vm roles). */
  packages: string[];
  /** Every package installed in the image with its version (dpkg-query), for people reading the manifest. */
  installed: string[];
  kernelVersion: string;
  diskBytes: number;
}

/** Packages the given roles of scripts/debian-packages.txt name, read by the one parser (scripts/lib). */
export function debianPackages(...roles: string[]): string[] {
  const result = spawnSync("bash", ["-c", 'source "$1"; shift; debian_packages "$@"', "bash", join(REPO, "scripts/lib/debian-packages.sh"), ...roles], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`cannot read scripts/debian-packages.txt: ${result.stderr.trim()}`);
  return result.stdout.split("\n").filter((line) => line !== "");
}

/** The host's apt sources, as mmdebstrap takes them: every file apt itself reads that holds an entry. */
export function aptSourceFiles(root = "/etc/apt"): string[] {
  const files: string[] = [];
  const main = join(root, "sources.list");
  if (existsSync(main) && /^\s*deb\s/m.test(readFileSync(main, "utf8"))) files.push(main);
  const dir = join(root, "sources.list.d");
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources")) files.push(join(dir, name));
    }
  }
  return files;
}

/** Host versions of `packages` (`name=version`, or `name=absent`): the image must match what WEFT was built against. */
export function hostVersions(packages: string[]): string[] {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Package}=${Version}\\n", ...packages], { encoding: "utf8" });
  const found = new Map(result.stdout.split("\n").filter(Boolean).map((line) => [line.split("=")[0]!, line] as const));
  return packages.map((name) => found.get(name) ?? `${name}=absent`);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out.sort();
}

export interface ImageInputs {
  key: string;
  packages: string[];
  aptSources: string[];
}

/** Everything the image is made from, and the key digested from it. */
export function imageInputs(): ImageInputs {
  const packages = debianPackages("run", "vm");
  const aptSources = aptSourceFiles();
  const hash = new Bun.CryptoHasher("sha256");
  const add = (label: string, content: string | Uint8Array) => hash.update(`${label}\0${content.length}\0`).update(content);
  add("format", String(IMAGE_FORMAT));
  add("packages", packages.join("\n"));
  add("host versions", hostVersions(debianPackages("run")).join("\n"));
  for (const file of aptSources) add(`apt ${file}`, readFileSync(file));
  for (const file of [join(REPO, "vm/build.ts"), join(REPO, "vm/image.ts"), ...filesUnder(join(REPO, "vm/guest"))]) {
    // The mode matters too: a script that loses its executable bit breaks the image.
    add(`file ${relative(REPO, file)} ${statSync(file).mode & 0o777}`, readFileSync(file));
  }
  return { key: hash.digest("hex").slice(0, 16), packages, aptSources };
}

export type ImageState = { state: "ready"; manifest: ImageManifest } | { state: "missing" } | { state: "corrupt"; problem: string };

/**
 * Whether the image at `paths` can be booted: built completely (image.json is written last), of this format and
 * key, with the disk as large as it was built and an ext4 superblock that e2fsck finds clean. A full check of
 * every block is the guest's fsck at boot; this one takes milliseconds.
 */
export function checkImage(paths: ImagePaths): ImageState {
  if (!existsSync(paths.dir)) return { state: "missing" };
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(readFileSync(paths.manifest, "utf8")) as ImageManifest;
  } catch (error) {
    return { state: "corrupt", problem: `${paths.manifest} cannot be read (${(error as Error).message.split("\n")[0]})` };
  }
  if (typeof manifest !== "object" || manifest === null || manifest.format !== IMAGE_FORMAT || manifest.key !== paths.key) {
    return { state: "corrupt", problem: `${paths.manifest} does not describe image ${paths.key} of format ${IMAGE_FORMAT}` };
  }
  for (const file of [paths.kernel, paths.initrd, paths.disk]) {
    if (!existsSync(file)) return { state: "corrupt", problem: `${file} is missing` };
  }
  const size = statSync(paths.disk).size;
  if (size !== manifest.diskBytes) return { state: "corrupt", problem: `${paths.disk} is ${size} bytes, not the ${manifest.diskBytes} it was built with` };
  const fsck = spawnSync("e2fsck", ["-n", paths.disk], { encoding: "utf8" });
  if (fsck.status !== 0) {
    const why = (fsck.stdout + fsck.stderr).trim().split("\n").slice(-2).join(" ");
    return { state: "corrupt", problem: `${paths.disk} is not a clean ext4 file system (e2fsck: ${why || `exit ${fsck.status}`})` };
  }
  return { state: "ready", manifest };
}
