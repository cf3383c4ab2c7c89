/**
 * What a D-Bus contract is, in TypeScript: the shape every generated `org.*.ts` module beside this file exports.
 *
 * Each `<interface>.xml` here is the one description of an interface; `generate.ts` turns it into a module that
 * holds the same description as data (the service kit exports and checks calls from it, with no XML parsing at
 * start-up) and as types (a proxy's methods, a service's handlers, signal arguments, property values and the
 * error names the interface may answer with). `protocol.test.ts` fails when a module is not what the generator
 * makes of its XML.
 *
 * Imports nothing: every process may import it, and it never imports a service.
 */

/** dbus-next's Variant, structurally: a value with its D-Bus signature. */
export interface Variant<T = unknown> {
  signature: string;
  value: T;
}

export interface Annotation {
  name: string;
  value: string;
}

export interface ContractArg {
  name?: string;
  type: string;
  annotations: Annotation[];
}

export interface ContractMethod {
  name: string;
  inArgs: ContractArg[];
  outArgs: ContractArg[];
  /** Concatenated in-arg types, e.g. `sa{sv}`. */
  inSignature: string;
  outSignature: string;
  annotations: Annotation[];
}

export type PropertyAccess = "read" | "write" | "readwrite";

export interface ContractProperty {
  name: string;
  type: string;
  access: PropertyAccess;
  annotations: Annotation[];
}

export interface ContractSignal {
  name: string;
  args: ContractArg[];
  signature: string;
  annotations: Annotation[];
}

export interface ContractInterface {
  name: string;
  methods: ContractMethod[];
  properties: ContractProperty[];
  signals: ContractSignal[];
  annotations: Annotation[];
}

/**
 * The types of one interface: each method's in-arguments (a tuple) and result (nothing, one value, or a tuple
 * of several), each signal's arguments, each property's value, and the names its errors may have.
 */
export interface InterfaceSpec {
  methods: Record<string, { in: unknown[]; out: unknown }>;
  signals: Record<string, unknown[]>;
  properties: Record<string, unknown>;
  errors: string;
}

/** One interface: its description as data, its error names, and (as types only) its spec. */
export interface InterfaceContract<Spec extends InterfaceSpec = InterfaceSpec> {
  readonly name: string;
  readonly description: ContractInterface;
  /** Where its error names live: usually the interface's name, sometimes its main interface's. */
  readonly errorDomain: string;
  /** The short names of the errors it documents: `AccessDenied` for `<errorDomain>.Error.AccessDenied`. */
  readonly errors: readonly Spec["errors"][];
  /** Never set: carries `Spec` for the kit's types. */
  readonly spec?: Spec;
}

export function defineInterface<Spec extends InterfaceSpec>(description: ContractInterface, errorDomain: string, errors: readonly Spec["errors"][]): InterfaceContract<Spec> {
  return { name: description.name, description, errorDomain, errors };
}

/** The full D-Bus name of one of an interface's errors: `org.weft.AppD1.Error.NotInstalled`. */
export function errorName<Spec extends InterfaceSpec>(contract: InterfaceContract<Spec>, error: Spec["errors"]): string {
  return `${contract.errorDomain}.Error.${error}`;
}

// ------------------------------------------------------------------------------------------ derived types

export type MethodsOf<C> = C extends InterfaceContract<infer S> ? S["methods"] : never;
export type SignalsOf<C> = C extends InterfaceContract<infer S> ? S["signals"] : never;
export type PropertiesOf<C> = C extends InterfaceContract<infer S> ? S["properties"] : never;
export type ErrorsOf<C> = C extends InterfaceContract<infer S> ? S["errors"] : never;

/** Where an interface is served: a bus name and an object path. */
export interface Endpoint {
  readonly busName: string;
  readonly path: string;
}
