/**
 * Launch options arrive as `a{sv}` so the API can grow. They are checked once, here, against a table of known
 * keys with the D-Bus type each must have (xdg-desktop-portal's way); inside appd, `LaunchOptions` carries the
 * guarantee. An unknown key or a value of another type is refused with the key's name, so a caller misspelling
 * `headless` learns it instead of getting a session with a UI end it did not ask for.
 */

import { Variant } from "dbus-next";

export interface LaunchOptions {
  /** The calling client becomes the session's UI end. */
  headless: boolean;
}

/** Why an options dictionary was refused; `key` is the offending key. */
export class LaunchOptionsError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "LaunchOptionsError";
  }
}

const KNOWN: Record<keyof LaunchOptions, { signature: string; describe: string }> = {
  headless: { signature: "b", describe: "a boolean (b)" },
};

const MAX_KEY_SHOWN = 64;

function shown(key: string): string {
  return JSON.stringify(key.length > MAX_KEY_SHOWN ? `${key.slice(0, MAX_KEY_SHOWN)}…` : key);
}

/** Validates Launch's `a{sv}` (dbus-next gives an object of Variants). */
export function parseLaunchOptions(raw: Record<string, unknown>): LaunchOptions {
  const options: LaunchOptions = { headless: false };
  // dbus-next fills a plain object by assignment: a key "__proto__" replaces its prototype instead of showing up.
  if (Object.getPrototypeOf(raw) !== Object.prototype) throw new LaunchOptionsError("__proto__", 'unknown launch option "__proto__"');
  for (const [key, value] of Object.entries(raw)) {
    const known = Object.hasOwn(KNOWN, key) ? KNOWN[key as keyof LaunchOptions] : undefined;
    if (known === undefined) {
      throw new LaunchOptionsError(key, `unknown launch option ${shown(key)}: the known options are ${Object.keys(KNOWN).join(", ")}`);
    }
    if (!(value instanceof Variant) || value.signature !== known.signature) {
      const got = value instanceof Variant ? value.signature : typeof value;
      throw new LaunchOptionsError(key, `launch option ${shown(key)} must be ${known.describe}, not ${got}`);
    }
    options[key as keyof LaunchOptions] = value.value as boolean;
  }
  return options;
}
