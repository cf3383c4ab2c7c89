/**
 * Named D-Bus errors. A handler throws `busError("org.weft.AppD1", "NotInstalled", "…what to do…")`; the
 * caller receives a D-Bus error `org.weft.AppD1.Error.NotInstalled` with that message, and a client of the
 * kit sees it as a `BusError` whose `.type` is that name. Anything else a handler throws is a bug: the
 * service logs it and the caller gets `org.weft.Error.Internal` with a reference to the log line, never a
 * stack trace.
 */
import { DBusError } from "dbus-next";
import type { ErrorsOf, InterfaceContract } from "../../../protocol/dbus/contract.ts";

/** The error names the kit itself produces or that callers should expect from the bus. */
export const ErrorNames = {
  /** An unexpected exception in a handler (details only in the service's log). */
  Internal: "org.weft.Error.Internal",
  /** No reply within the call's timeout (same name as libdbus uses). */
  NoReply: "org.freedesktop.DBus.Error.NoReply",
  /** The connection closed while the call was in flight, or before it was made. */
  Disconnected: "org.freedesktop.DBus.Error.Disconnected",
  /** The destination name has no owner and could not be activated. */
  ServiceUnknown: "org.freedesktop.DBus.Error.ServiceUnknown",
  /** The destination name has no owner and the call asked not to auto-start it. */
  NameHasNoOwner: "org.freedesktop.DBus.Error.NameHasNoOwner",
  UnknownObject: "org.freedesktop.DBus.Error.UnknownObject",
  UnknownInterface: "org.freedesktop.DBus.Error.UnknownInterface",
  UnknownMethod: "org.freedesktop.DBus.Error.UnknownMethod",
  UnknownProperty: "org.freedesktop.DBus.Error.UnknownProperty",
  PropertyReadOnly: "org.freedesktop.DBus.Error.PropertyReadOnly",
  InvalidArgs: "org.freedesktop.DBus.Error.InvalidArgs",
  LimitsExceeded: "org.freedesktop.DBus.Error.LimitsExceeded",
  AccessDenied: "org.freedesktop.DBus.Error.AccessDenied",
} as const;

/**
 * A D-Bus error with a name (`type`) and a human message. Extends dbus-next's DBusError so either side of
 * dbus-next recognises it. `message` and `text` are the same string.
 */
export class BusError extends DBusError {
  constructor(type: string, message: string) {
    super(type, message);
    this.name = "BusError";
  }
}

/**
 * The error a handler throws for an expected failure: `<errorDomain>.Error.<name>`, where the contract
 * documents `name` (a contract module of protocol/dbus: the name is checked at compile time). A plain domain
 * string is for interfaces WEFT does not own (a fake systemd in tests).
 * @example throw busError(AppD1, "NotInstalled", "app org.x.y is not installed: install it with `weft-pack install <dir>`")
 */
export function busError<C extends InterfaceContract<any>>(contract: C, name: ErrorsOf<C>, message: string): BusError;
export function busError(errorDomain: string, name: string, message: string): BusError;
export function busError(contract: InterfaceContract<any> | string, name: string, message: string): BusError {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid D-Bus error name part "${name}"`);
  const domain = typeof contract === "string" ? contract : contract.errorDomain;
  return new BusError(`${domain}.Error.${name}`, message);
}

/** True when `error` is a D-Bus error (of the given name, when one is passed). */
export function isBusError(error: unknown, type?: string): error is BusError {
  return error instanceof DBusError && (type === undefined || (error as BusError).type === type);
}
