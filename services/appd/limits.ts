/**
 * How long each phase of a launch may take. The defaults suit a real machine (SPEC 2.2.5: 30 s until the guest
 * is ready); a slow one, such as the VM under emulation where Chromium alone needs half a minute to start,
 * raises them in appd's environment:
 *
 *   WEFT_APP_READY_TIMEOUT_S    spawn → the guest reports ready (includes compiling a component not yet cached)
 *   WEFT_APP_WINDOW_TIMEOUT_S   the app-shell spawned → its page is shown and it owns its bus name
 *
 * Read once when appd starts; a value that is not a whole number of seconds from 1 to 3600 stops the start with
 * an error naming the variable.
 */

import type { Env } from "../common/os/paths.ts";

export interface LaunchLimits {
  readyMs: number;
  windowMs: number;
}

export const DEFAULT_LAUNCH_LIMITS: LaunchLimits = { readyMs: 30_000, windowMs: 30_000 };
const MAX_SECONDS = 3600;

function seconds(env: Env, name: string, fallbackMs: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallbackMs;
  if (!/^[0-9]{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_SECONDS) {
    throw new Error(`${name}=${JSON.stringify(text.slice(0, 32))} is not a whole number of seconds from 1 to ${MAX_SECONDS}: fix or unset it`);
  }
  return Number(text) * 1000;
}

export function launchLimits(env: Env): LaunchLimits {
  return {
    readyMs: seconds(env, "WEFT_APP_READY_TIMEOUT_S", DEFAULT_LAUNCH_LIMITS.readyMs),
    windowMs: seconds(env, "WEFT_APP_WINDOW_TIMEOUT_S", DEFAULT_LAUNCH_LIMITS.windowMs),
  };
}
