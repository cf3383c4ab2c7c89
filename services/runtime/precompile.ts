/**
 * Compiling an installed package's component for this machine's Wasmtime at install time (ARCHITECTURE's
 * install flow), so its first launch loads machine code instead of compiling. It goes through the same path
 * as a launch: the package is verified again here and only its verified bytes are compiled into the cache.
 */

import { existsSync } from "node:fs";
import { appIdProblem, type AppId } from "../../protocol/app-id.ts";
import type { PrecompileOutcome } from "../../protocol/precompile.ts";
import type { Env } from "../common/os/paths.ts";
import { compiledComponent } from "./cache.ts";
import { PackageLoadError, verifyInstalledPackage } from "./package.ts";
import { engineFingerprint, precompileComponent } from "./wasmtime/index.ts";
import { resolveLibraryPath } from "./wasmtime/library.ts";

export async function precompileInstalled(appId: AppId, env: Env = process.env): Promise<PrecompileOutcome> {
  const library = resolveLibraryPath();
  if (!existsSync(library)) return { skipped: `${library} is not built here; the runtime compiles the component at its first launch` };
  const started = performance.now();
  try {
    const pkg = await verifyInstalledPackage(appId, env);
    const cached = await compiledComponent(pkg.moduleSha256, pkg.moduleBytes, engineFingerprint(), (bytes) => precompileComponent(bytes), env);
    return { compiled: cached.compiled, file: cached.file, milliseconds: performance.now() - started };
  } catch (error) {
    // Only verified packages are compiled: a development install of an untrusted package is compiled by nobody.
    if (error instanceof PackageLoadError) return { skipped: error.message };
    throw error;
  }
}

// As a program (protocol/precompile.ts): weft-pack runs it after an install.
if (import.meta.main) {
  const [appId, ...extra] = process.argv.slice(2);
  const problem = appId === undefined ? "missing <app_id>" : extra.length > 0 ? "one argument only" : appIdProblem(appId);
  if (problem !== undefined) {
    process.stderr.write(`precompile: ${problem}\nusage: precompile.ts <app_id>\n`);
    process.exit(2);
  }
  console.log(JSON.stringify(await precompileInstalled(appId as AppId, process.env)));
  process.exit(0);
}
