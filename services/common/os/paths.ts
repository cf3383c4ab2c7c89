/**
 * Where WEFT keeps things. Every function takes the environment as a parameter (default: the process's), so
 * tests and per-user services compute paths for an explicit environment instead of mutating globals.
 *
 *   package store roots   $WEFT_APP_STORE alone, else $XDG_DATA_HOME/weft/apps then /usr/share/weft/apps
 *   install root          $WEFT_APP_STORE, else $XDG_DATA_HOME/weft/apps (never the system root)
 *   app data              $XDG_DATA_HOME/weft/data/<app_id>      (outside the package: see below)
 *   trust store           $XDG_CONFIG_HOME/weft/{trusted,revoked}.d and $WEFT_SYSCONFDIR/{trusted,revoked}.d
 *   runtime files         $XDG_RUNTIME_DIR/weft
 *   caches                $XDG_CACHE_HOME/weft
 *
 * With XDG_DATA_HOME unset these are the reference's paths (SPEC 2.0: `~/.local/share/weft/apps`). One
 * deliberate difference: the reference kept app data in `<store>/<app_id>/data`, inside the signed package
 * directory, so an app's own writes broke its signature and an atomic upgrade (a rename of the package
 * directory) would throw the data away. WEFT keeps data beside the store instead.
 */

import { join } from "node:path";
import type { AppId } from "../../../protocol/app-id.ts";

export type Env = Record<string, string | undefined>;

export const SYSTEM_APP_STORE = "/usr/share/weft/apps";
export const DEFAULT_SYSCONFDIR = "/etc/weft";

export class MissingEnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingEnvironmentError";
  }
}

/** An absolute value of `name`, or undefined: the XDG spec says relative values are to be ignored. */
function absolute(env: Env, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value.startsWith("/") ? value : undefined;
}

function home(env: Env): string | undefined {
  return absolute(env, "HOME");
}

function xdgDir(env: Env, variable: string, homeRelative: string): string | undefined {
  const explicit = absolute(env, variable);
  if (explicit !== undefined) return explicit;
  const h = home(env);
  return h === undefined ? undefined : join(h, homeRelative);
}

export function dataHome(env: Env = process.env): string | undefined {
  return xdgDir(env, "XDG_DATA_HOME", ".local/share");
}

export function configHome(env: Env = process.env): string | undefined {
  return xdgDir(env, "XDG_CONFIG_HOME", ".config");
}

export function cacheHome(env: Env = process.env): string | undefined {
  return xdgDir(env, "XDG_CACHE_HOME", ".cache");
}

export function stateHome(env: Env = process.env): string | undefined {
  return xdgDir(env, "XDG_STATE_HOME", ".local/state");
}

/** `$XDG_RUNTIME_DIR/weft`; services need it for sockets and fail clearly without it. */
export function runtimeDir(env: Env = process.env): string {
  const base = absolute(env, "XDG_RUNTIME_DIR");
  if (base === undefined) {
    throw new MissingEnvironmentError(
      "XDG_RUNTIME_DIR is not set (or not absolute): log in through a session manager, or set it to a private directory",
    );
  }
  return join(base, "weft");
}

/** The package store roots searched in order (SPEC 2.0); the first root holding `<id>/wapp.toml` wins. */
export function storeRoots(env: Env = process.env): string[] {
  const override = absolute(env, "WEFT_APP_STORE");
  if (override !== undefined) return [override];
  const user = dataHome(env);
  return user === undefined ? [SYSTEM_APP_STORE] : [join(user, "weft/apps"), SYSTEM_APP_STORE];
}

/** Where `weft-pack install` puts packages: never the system root, which belongs to the distribution. */
export function installRoot(env: Env = process.env): string {
  const override = absolute(env, "WEFT_APP_STORE");
  if (override !== undefined) return override;
  const user = dataHome(env);
  if (user === undefined) {
    throw new MissingEnvironmentError(
      "cannot determine the install root: set WEFT_APP_STORE, or HOME (or XDG_DATA_HOME) to an absolute path",
    );
  }
  return join(user, "weft/apps");
}

/** The private data directory of an app, mapped to `/data` for `fs:*:app-data`. */
export function appDataDir(appId: AppId, env: Env = process.env): string {
  const user = dataHome(env);
  if (user === undefined) {
    throw new MissingEnvironmentError("cannot place app data: set HOME (or XDG_DATA_HOME) to an absolute path");
  }
  return join(user, "weft/data", appId);
}

export interface TrustStoreDirs {
  /** Directories of trusted public keys (`*.pub`, hex), user first. */
  trusted: string[];
  /** Directories of revoked public keys; a key revoked anywhere is revoked everywhere. */
  revoked: string[];
}

export function sysconfDir(env: Env = process.env): string {
  return absolute(env, "WEFT_SYSCONFDIR") ?? DEFAULT_SYSCONFDIR;
}

export function trustStoreDirs(env: Env = process.env): TrustStoreDirs {
  const user = configHome(env);
  const system = sysconfDir(env);
  const bases = user === undefined ? [system] : [join(user, "weft"), system];
  return {
    trusted: bases.map((b) => join(b, "trusted.d")),
    revoked: bases.map((b) => join(b, "revoked.d")),
  };
}

/** WEFT's cache directory (precompiled components, build stamps); falls back to the runtime dir. */
export function weftCacheDir(env: Env = process.env): string {
  const base = cacheHome(env);
  return base === undefined ? join(runtimeDir(env), "cache") : join(base, "weft");
}
