/**
 * The systemd user units (units/) as installed by scripts/install-units.sh, checked by systemd's own
 * `systemd-analyze verify --user` (unit syntax, dependencies, executables exist). The user manager itself does
 * not run here (PLATFORM-NOTES: never start systemd --user from the root cgroup); the VM runs the units.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDirs } from "../testing/scratch.ts";

const SCRIPT = join(import.meta.dir, "install-units.sh");
const temp = scratchDirs();

async function run(argv: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(argv, { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

async function verify(dir: string) {
  const units = readdirSync(dir).map((name) => join(dir, name));
  return run(["systemd-analyze", "verify", "--user", ...units], { XDG_RUNTIME_DIR: temp("weft-units-xdg-") });
}

test("the installed units pass systemd-analyze verify, with this checkout's paths filled in", async () => {
  const dest = temp("weft-units-");
  const installed = await run([SCRIPT, "--dest", dest]);
  expect(installed.code).toBe(0);
  expect(readdirSync(dest).sort()).toEqual(["weft-appd.service", "weft-compositor.service", "weft-file-portal.service", "weft-session.target", "weft-shell.service"]);
  for (const name of readdirSync(dest)) expect(readFileSync(join(dest, name), "utf8")).not.toMatch(/@ROOT@|@BUN@/);
  expect(readFileSync(join(dest, "weft-appd.service"), "utf8")).toContain(join(import.meta.dir, "../services/appd/main.ts"));
  const verified = await verify(dest);
  expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: "" });

  // The check can fail: a unit whose program is not there is refused.
  const broken = temp("weft-units-broken-");
  writeFileSync(join(broken, "weft-appd.service"), readFileSync(join(dest, "weft-appd.service"), "utf8").replace(/^ExecStart=\S+/m, "ExecStart=/nonexistent/bun"));
  const refused = await verify(broken);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("/nonexistent/bun");
});

test("--enable links weft-session.target into default.target.wants, as systemctl --user enable would", async () => {
  const dest = temp("weft-units-enabled-");
  const installed = await run([SCRIPT, "--dest", dest, "--enable"]);
  expect(installed.code).toBe(0);
  expect(readlinkSync(join(dest, "default.target.wants/weft-session.target"))).toBe("../weft-session.target");
  expect(readFileSync(join(dest, "weft-session.target"), "utf8")).toMatch(/^\[Install\]\nWantedBy=default\.target$/m);
  // Installing again (every boot of the VM does) changes nothing and does not fail.
  expect((await run([SCRIPT, "--dest", dest, "--enable"])).code).toBe(0);
  expect(readdirSync(join(dest, "default.target.wants"))).toEqual(["weft-session.target"]);
});

test("bad arguments are usage errors", async () => {
  for (const argv of [["--dest"], ["--bogus"], ["extra"]]) {
    const result = await run([SCRIPT, ...argv]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("install-units:");
  }
});
