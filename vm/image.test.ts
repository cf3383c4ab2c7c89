/**
 * The image cache as vm/build, vm/run and vm/test read it: which inputs make the key, and what counts as an image
 * that can be booted. The checks run on small real ext4 file systems made here, never on the user's cached image.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, statSync } from "node:fs";
import { join } from "node:path";
import { scratchDirs } from "../testing/scratch.ts";
import { aptSourceFiles, checkImage, debianPackages, IMAGE_FORMAT, imageInputs, imagePaths, vmCacheDir, type ImageManifest } from "./image.ts";

const temp = scratchDirs();

/** A complete little image for key `key` under `cache`: a real 16 MiB ext4, stand-in kernel files, its manifest. */
function makeImage(cache: string, key: string) {
  const paths = imagePaths(key, { WEFT_VM_CACHE: cache });
  mkdirSync(paths.dir, { recursive: true });
  truncateSync(openAndClose(paths.disk), 16 * 1024 * 1024);
  expect(spawnSync("mkfs.ext4", ["-q", "-F", paths.disk]).status).toBe(0);
  writeFileSync(paths.kernel, "kernel");
  writeFileSync(paths.initrd, "initrd");
  const manifest: ImageManifest = { format: IMAGE_FORMAT, key, builtAt: "", buildSeconds: 0, packages: [], installed: [], kernelVersion: "test", diskBytes: statSync(paths.disk).size };
  writeFileSync(paths.manifest, JSON.stringify(manifest));
  return paths;
}

function openAndClose(path: string): string {
  closeSync(openSync(path, "w"));
  return path;
}

test("where the cache is: WEFT_VM_CACHE, else XDG_CACHE_HOME, else HOME; relative values are ignored", () => {
  expect(vmCacheDir({ WEFT_VM_CACHE: "/c", XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/c");
  expect(vmCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/x/weft/vm");
  expect(vmCacheDir({ WEFT_VM_CACHE: "relative", XDG_CACHE_HOME: "also/relative", HOME: "/h" })).toBe("/h/.cache/weft/vm");
});

test("the key is what goes into the image: stable while nothing changes, and names the packages of the image's roles", () => {
  const first = imageInputs();
  expect(first.key).toMatch(/^[0-9a-f]{16}$/);
  expect(imageInputs().key).toBe(first.key);
  expect(first.packages).toContain("systemd-sysv");
  expect(first.packages).toContain("chromium");
  expect(first.packages).not.toContain("meson"); // a build tool, never in the image
  expect(debianPackages("vm-host")).toEqual(expect.arrayContaining(["mmdebstrap", "qemu-system-x86"]));
  expect(() => debianPackages("no-such-role")).not.toThrow();
  expect(debianPackages("no-such-role")).toEqual([]);
});

test("apt sources: every file apt reads that holds an entry, nothing else", () => {
  const root = temp("weft-apt-");
  mkdirSync(join(root, "sources.list.d"));
  writeFileSync(join(root, "sources.list"), "# only a comment\n");
  writeFileSync(join(root, "sources.list.d/debian.sources"), "Types: deb\n");
  writeFileSync(join(root, "sources.list.d/extra.list"), "deb http://x y main\n");
  writeFileSync(join(root, "sources.list.d/old.list.disabled"), "deb http://x y main\n");
  expect(aptSourceFiles(root)).toEqual([join(root, "sources.list.d/debian.sources"), join(root, "sources.list.d/extra.list")]);
  writeFileSync(join(root, "sources.list"), "deb http://x bookworm main\n");
  expect(aptSourceFiles(root)[0]).toBe(join(root, "sources.list"));
});

test("a complete image is ready; a missing one is missing; every kind of damage is named", () => {
  const cache = temp("weft-vm-cache-");
  expect(checkImage(imagePaths("0123456789abcdef", { WEFT_VM_CACHE: cache })).state).toBe("missing");

  const ready = makeImage(cache, "1111111111111111");
  expect(checkImage(ready)).toMatchObject({ state: "ready", manifest: { key: "1111111111111111" } });

  const cases: [string, (paths: ReturnType<typeof makeImage>) => void, RegExp][] = [
    ["no manifest (an interrupted build)", (p) => rmSync(p.manifest), /image\.json cannot be read/],
    ["a manifest that is not JSON", (p) => writeFileSync(p.manifest, "{\"format\": 1, "), /image\.json cannot be read/],
    ["a manifest of another key", (p) => writeFileSync(p.manifest, JSON.stringify({ format: IMAGE_FORMAT, key: "ffffffffffffffff", diskBytes: 1 })), /does not describe image/],
    ["a manifest of another format", (p) => writeFileSync(p.manifest, JSON.stringify({ format: 999, key: p.key })), /does not describe image/],
    ["a manifest that is JSON null", (p) => writeFileSync(p.manifest, "null"), /does not describe image/],
    ["no kernel", (p) => rmSync(p.kernel), /vmlinuz is missing/],
    ["a truncated disk", (p) => truncateSync(p.disk, 4096), /disk\.img is 4096 bytes, not the 16777216 it was built with/],
    [
      "a disk whose file system was overwritten",
      (p) => {
        const fd = openSync(p.disk, "r+");
        writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 0);
        closeSync(fd);
      },
      /is not a clean ext4 file system/,
    ],
  ];
  let n = 2;
  for (const [what, damage, problem] of cases) {
    const paths = makeImage(cache, String(n++).repeat(16).slice(0, 16));
    damage(paths);
    const state = checkImage(paths);
    expect({ what, state: state.state }).toEqual({ what, state: "corrupt" });
    expect(state.state === "corrupt" ? state.problem : "").toMatch(problem);
  }
});
