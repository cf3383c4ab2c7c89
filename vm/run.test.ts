/**
 * vm/run and vm/build as a user calls them: bad arguments are usage errors, a missing QEMU and a cache without
 * room are named with what to do, before anything is built or booted.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRunArgs } from "./run.ts";
import { qemuArguments } from "./machine.ts";
import { imagePaths } from "./image.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) {
    spawnSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

async function run(script: string, argv: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, script), ...argv], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

test("vm/run arguments: defaults, bounds, and hostile values refused with the option's name", () => {
  expect(parseRunArgs([])).toEqual({ memoryMiB: 4096, cpus: 2, keep: false, console: false });
  expect(parseRunArgs(["--memory", "8192", "--cpus", "4", "--keep", "--console"])).toEqual({ memoryMiB: 8192, cpus: 4, keep: true, console: true });
  const refused: [string[], RegExp][] = [
    [["--memory", "512"], /--memory must be a whole number from 1024/],
    [["--memory", "1e4"], /--memory/],
    [["--memory", "99999999999"], /--memory/],
    [["--cpus", "0"], /--cpus must be a whole number from 1 to 64/],
    [["--cpus", "-2"], /--cpus|argument/],
    [["--cpus", "2; rm -rf /"], /--cpus/],
    [["--cpus", "x".repeat(10_000)], /--cpus must be a whole number from 1 to 64, not "x{32}"$/],
    [["extra"], /unexpected argument/],
    [["--kvm"], /Unknown option/],
  ];
  for (const [argv, message] of refused) expect(() => parseRunArgs(argv)).toThrow(message);
});

test("usage errors exit 2, before anything is built", async () => {
  for (const [script, argv] of [["run.ts", ["--cpus", "0"]], ["build.ts", ["--fast"]], ["test.ts", ["extra"]]] as const) {
    const result = await run(script, [...argv]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`usage: vm/${script.replace(".ts", "")}`);
  }
});

test("without QEMU, vm/run says what to install and exits 1, before building anything", async () => {
  const cache = mkdtempSync(join(tmpdir(), "weft-vm-noqemu-"));
  dirs.push(cache);
  const result = await run("run.ts", [], { WEFT_VM_QEMU: "/nonexistent/qemu-system-x86_64", WEFT_VM_CACHE: cache });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("/nonexistent/qemu-system-x86_64 cannot be run");
  expect(result.stderr).toContain("install Debian's qemu-system-x86");
  expect(spawnSync("ls", [cache]).stdout.toString()).toBe(""); // nothing built
});

test("a cache without room for the build is refused with what to do, and nothing but its log is left in it", async () => {
  if (process.getuid?.() !== 0) throw new Error("this test mounts a small tmpfs and must run as root (as CI does)");
  const small = mkdtempSync(join(tmpdir(), "weft-vm-full-"));
  dirs.push(small);
  expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", small]).status).toBe(0);
  mkdirSync(join(small, "cache"));
  const result = await run("build.ts", [], { WEFT_VM_CACHE: join(small, "cache") });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/has 0\.0 GiB free; building the image needs 5\.0 GiB: free some space there, or set WEFT_VM_CACHE/);
  expect(spawnSync("ls", ["-A", join(small, "cache")]).stdout.toString().trim()).toBe("build.log");
});

test("QEMU's command line: the image is never written, the checkout is shared read-only, no network", () => {
  const image = imagePaths("0123456789abcdef", { WEFT_VM_CACHE: "/cache" });
  const args = qemuArguments({ image, accel: "tcg", memoryMiB: 4096, cpus: 2, mode: "test", runDir: "/run/x", console: false, window: false, agent: true, wasmtimeShare: "/share" });
  const joined = args.join(" ");
  expect(joined).toContain(`file=${image.disk},format=raw,if=virtio,snapshot=on`);
  expect(joined).toMatch(/-virtfs local,path=\S+,mount_tag=weft,security_model=none,readonly=on/);
  expect(joined).toContain("-virtfs local,path=/share,mount_tag=weft-wasmtime,security_model=none,readonly=on");
  expect(joined).toContain("-nic none");
  expect(joined).toContain("weft.mode=test");
  expect(joined).toContain("name=org.weft.vm.agent");
  const kept = qemuArguments({ image, accel: "kvm", memoryMiB: 4096, cpus: 2, mode: "normal", runDir: "/run/x", console: true, window: false, agent: false, wasmtimeShare: "/share", overlay: "/cache/state.qcow2" });
  expect(kept.join(" ")).toContain("file=/cache/state.qcow2,format=qcow2,if=virtio");
  expect(kept.join(" ")).not.toContain("org.weft.vm.agent");
});
