/**
 * The kit's typed face: what `bus.proxy(contract, endpoint)` and `bus.serve(contract, path, handlers)` give and
 * take, from a contract module of protocol/dbus (its methods' argument tuples and results, its signals'
 * arguments, its properties' values).
 *
 * @example
 * const compositor = bus.proxy(Compositor1, Compositor);
 * const windows = await compositor.call("ListWindows");          // typed rows, no cast
 * await compositor.on("WindowClosed", (id, sessionId) => …);     // typed arguments
 */

import type { InterfaceContract, InterfaceSpec } from "../../../protocol/dbus/contract.ts";
import type { CallOptions, Subscription } from "./connection.ts";
import type { CallContext, ExportedService } from "./service.ts";

type Methods<S extends InterfaceSpec> = S["methods"];
type MethodName<S extends InterfaceSpec> = keyof S["methods"] & string;
type SignalName<S extends InterfaceSpec> = keyof S["signals"] & string;
type PropertyName<S extends InterfaceSpec> = keyof S["properties"] & string;

export type SpecOf<C> = C extends InterfaceContract<infer S> ? S : never;

/** A client of one interface of one remote object. */
export interface SpecProxy<S extends InterfaceSpec> {
  readonly destination: string;
  readonly path: string;
  readonly interfaceName: string;
  /** Calls a method: resolves with nothing, its one out-argument, or the tuple of several. */
  call<M extends MethodName<S>>(method: M, ...args: Methods<S>[M]["in"]): Promise<Methods<S>[M]["out"]>;
  /** The same, with per-call options (a timeout, no auto-start). */
  callWith<M extends MethodName<S>>(options: CallOptions, method: M, ...args: Methods<S>[M]["in"]): Promise<Methods<S>[M]["out"]>;
  get<P extends PropertyName<S>>(property: P): Promise<S["properties"][P]>;
  set<P extends PropertyName<S>>(property: P, value: S["properties"][P]): Promise<void>;
  getAll(): Promise<Partial<S["properties"]>>;
  /** Listens to a signal of this object (from the owner of its bus name). */
  on<G extends SignalName<S>>(signal: G, listener: (...args: S["signals"][G]) => void): Promise<Subscription>;
}

type Awaitable<T> = T | Promise<T>;

/** A service's handlers: one per method of the contract (the kit refuses a missing or extra one at export). */
export interface SpecHandlers<S extends InterfaceSpec> {
  methods: { [M in MethodName<S>]: (args: Methods<S>[M]["in"], ctx: CallContext) => Awaitable<Methods<S>[M]["out"]> };
  properties?: { [P in PropertyName<S>]?: { get?: (ctx: CallContext) => Awaitable<S["properties"][P]>; set?: (value: S["properties"][P], ctx: CallContext) => unknown } };
}

/** An exported interface, with typed signals and property changes. */
export interface SpecServed<S extends InterfaceSpec> extends Omit<ExportedService, "emit" | "emitTo" | "propertiesChanged"> {
  emit<G extends SignalName<S>>(signal: G, ...args: S["signals"][G]): void;
  /** A unicast signal: the bus delivers it to `destination` (a unique name) only. */
  emitTo<G extends SignalName<S>>(destination: string, signal: G, ...args: S["signals"][G]): void;
  propertiesChanged(changed: Partial<S["properties"]>, invalidated?: PropertyName<S>[]): void;
}

/** A proxy of contract `C`: `BusProxy<typeof Compositor1>`. */
export type BusProxy<C extends InterfaceContract<any>> = SpecProxy<SpecOf<C>>;
/** The handlers of contract `C`. */
export type Handlers<C extends InterfaceContract<any>> = SpecHandlers<SpecOf<C>>;
/** Contract `C` as exported: `Served<typeof Compositor1>`. */
export type Served<C extends InterfaceContract<any>> = SpecServed<SpecOf<C>>;
