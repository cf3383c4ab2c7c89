/**
 * A connection to a message bus: dbus-next's MessageBus on our fd-capable transport, with calls that
 * always end (timeout, or failure when the connection closes), typed errors, services exported from
 * contracts, and the callers' credentials.
 *
 * @example
 * await using bus = await connectBus({ bus: "session" });
 * await bus.requestName("org.weft.AppD1");
 * bus.exportService(contractPath("org.weft.AppD1"), objectPathForName("org.weft.AppD1"), handlers);
 */
import { Message, Variant } from "dbus-next";
import MessageBus from "dbus-next/lib/bus.js";
import { createLogger, type Logger } from "../daemon/log.ts";
import { parseBusAddress, resolveBusAddress, type BusAddressOptions } from "./address.ts";
import { loadContract, objectPathForName, pickInterface, isValidWellKnownBusName, type Contract, type ContractInterface } from "../../../protocol/dbus/parse.ts";
import { CredentialsCache, type CallerCredentials } from "./credentials.ts";
import { BusError, ErrorNames } from "./errors.ts";
import { ServiceRegistry, type ExportOptions, type ExportedService, type ServiceHandlers } from "./service.ts";
import { UnixFdStream } from "./transport.ts";
import type { BusProxy, Handlers, Served } from "./typed.ts";
import type { Endpoint, InterfaceContract } from "../../../protocol/dbus/contract.ts";
import { claimReceivedFds, createWireConnection } from "./wire.ts";

/** Same default as libdbus. */
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;

const METHOD_RETURN = 2;
const SIGNAL = 4;
const NO_REPLY_EXPECTED = 0x1;
const NO_AUTO_START = 0x2;
const DBUS = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" } as const;

export interface ConnectOptions extends BusAddressOptions {
  /** Default timeout of every method call made through this connection (25 s). */
  callTimeoutMs?: number;
  /** Ask the bus for fd passing (default true). Without it, sending an `h` argument throws at once. */
  negotiateUnixFd?: boolean;
  /** Logger for dispatch failures and connection events; `createLogger("bus")` by default. */
  logger?: Logger;
}

/** A method call. `signature` describes `body` (`""`/absent for none). */
export interface CallRequest {
  destination: string;
  path: string;
  interface?: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

export interface CallOptions {
  /** Overrides the connection's call timeout. */
  timeoutMs?: number;
  /** Let the bus start the destination by D-Bus activation (default true). */
  autoStart?: boolean;
  /** Send without waiting for any reply (resolves with `[]` once sent). */
  noReply?: boolean;
}

/** A signal match: fields that are given must match. `extra` is appended to the bus match rule (`arg0='x'`). */
export interface SignalRule {
  sender?: string;
  path?: string;
  interface: string;
  member?: string;
  extra?: string;
}

/** How long a wait may take, and what ends it early: `abandon` rejecting (the process meant to act has exited). */
export interface WaitOptions {
  timeoutMs: number;
  abandon?: Promise<never>;
  /** The rejection's message when time runs out. */
  timeoutMessage?: string;
}

export interface Subscription {
  close(): Promise<void>;
}

/** A contract-aware client of one interface of one remote object. */
export interface ServiceClient {
  readonly destination: string;
  readonly path: string;
  readonly interfaceName: string;
  /** Calls a method of the contract: resolves with nothing, the out-argument, or an array of them. */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  /** Same, with per-call options. */
  callWith(options: CallOptions, method: string, ...args: unknown[]): Promise<unknown>;
  get(property: string): Promise<unknown>;
  set(property: string, value: unknown): Promise<void>;
  getAll(): Promise<Record<string, unknown>>;
  /** Listens to a signal of the contract from this object; the listener gets its arguments. */
  on(signal: string, listener: (...args: unknown[]) => void): Promise<Subscription>;
}

/**
 * Connects to the bus chosen by `address` > `WEFT_BUS_ADDRESS` > `bus` (session by default), authenticates,
 * negotiates fd passing and says Hello. Rejects with a message naming the address and where it came from.
 */
export async function connectBus(options: ConnectOptions = {}): Promise<BusConnection> {
  const { address, source } = resolveBusAddress(options);
  const log = options.logger ?? createLogger("bus");
  const failures: string[] = [];
  for (const socket of parseBusAddress(address)) {
    let stream: UnixFdStream;
    try {
      stream = UnixFdStream.connect(socket, { negotiateUnixFd: options.negotiateUnixFd ?? true });
    } catch (error) {
      failures.push((error as Error).message);
      continue;
    }
    try {
      return await BusConnection.open(stream, address, options, log);
    } catch (error) {
      stream.end();
      await stream.closed;
      failures.push((error as Error).message);
    }
  }
  throw new Error(`cannot connect to the D-Bus bus at ${address} (from ${source}): ${failures.join("; ")}`);
}

export class BusConnection implements AsyncDisposable {
  /** The dbus-next MessageBus underneath, for what the kit does not cover. */
  readonly raw: MessageBus;
  readonly address: string;
  readonly log: Logger;
  /** Resolves when the connection has ended, whether by close() or because the bus went away. */
  readonly disconnected: Promise<void>;

  readonly #stream: UnixFdStream;
  readonly #callTimeoutMs: number;
  readonly #pending = new Map<number, (error: Error) => void>();
  readonly #registry: ServiceRegistry;
  #credentials: CredentialsCache | undefined;
  #closed = false;

  /** @internal use connectBus() */
  static async open(stream: UnixFdStream, address: string, options: ConnectOptions, log: Logger): Promise<BusConnection> {
    const wire = createWireConnection(stream);
    const raw = new MessageBus(wire);
    const connection = new BusConnection(raw, stream, wire, address, options, log);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to Hello within ${connection.#callTimeoutMs} ms`)),
        connection.#callTimeoutMs,
      );
      raw.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      raw.once("error", (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
      wire.once("end", () => {
        clearTimeout(timer);
        reject(new Error("the bus closed the connection during authentication"));
      });
    });
    return connection;
  }

  private constructor(
    raw: MessageBus,
    stream: UnixFdStream,
    wire: ReturnType<typeof createWireConnection>,
    address: string,
    options: ConnectOptions,
    log: Logger,
  ) {
    this.raw = raw;
    this.#stream = stream;
    this.address = address;
    this.log = log;
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // An 'error' event without a listener would throw out of the reader callback.
    raw.on("error", (error: unknown) => this.log.warn("bus connection error", { error: String(error) }));
    // Runs before MessageBus sees the message: a reply to one of our calls carries fds the caller will own.
    wire.prependListener("message", (message: Message) => {
      if ((message.type as number) === METHOD_RETURN && this.#pending.has(Number(message.replySerial))) claimReceivedFds(message);
    });
    wire.on("end", () => this.#onEnd());
    this.disconnected = stream.closed;
    this.#registry = new ServiceRegistry(this);
  }

  /** This connection's unique name on the bus (`:1.42`). */
  get uniqueName(): string {
    return this.raw.name ?? "";
  }

  /** True when the bus agreed to fd passing (`h` arguments work). */
  get unixFdSupported(): boolean {
    return this.#stream.supportsUnixFd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls a method and resolves with the reply's arguments. Rejects with a `BusError`: the remote error
   * (`.type` is its D-Bus name), `NoReply` after the timeout, `Disconnected` when the connection closes.
   * Fds in the reply belong to the caller. Fds sent are not closed (the caller still owns them).
   */
  call(request: CallRequest, options: CallOptions = {}): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(new BusError(ErrorNames.Disconnected, "the bus connection is closed"));
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    const what = `${request.interface ?? ""}.${request.member} on ${request.destination}${request.path}`;
    let message: Message;
    try {
      message = new Message({
        destination: request.destination,
        path: request.path,
        interface: request.interface,
        member: request.member,
        signature: request.signature ?? "",
        body: request.body ?? [],
        flags: (options.autoStart === false ? NO_AUTO_START : 0) | (options.noReply ? NO_REPLY_EXPECTED : 0),
      } as never);
    } catch (error) {
      return Promise.reject(new Error(`invalid call of ${what}: ${(error as Error).message}`));
    }
    const sent = this.raw.call(message);
    const serial = message.serial as number;
    if (options.noReply) return sent.then(() => [], (error) => Promise.reject(toBusError(error)));
    return new Promise<unknown[]>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.#pending.delete(serial);
        delete this.raw._methodReturnHandlers[serial];
      };
      const timer = setTimeout(() => {
        settle();
        reject(new BusError(ErrorNames.NoReply, `no reply to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(serial, (error) => {
        settle();
        reject(error);
      });
      sent.then(
        (reply) => {
          settle();
          resolve(reply?.body ?? []);
        },
        (error) => {
          settle();
          reject(toBusError(error));
        },
      );
    });
  }

  /** A typed client of `contract` (a module of protocol/dbus) at `endpoint` (protocol/dbus/names.ts). */
  proxy<C extends InterfaceContract<any>>(contract: C, endpoint: Endpoint): BusProxy<C> {
    return new ContractClient(this, contract.description, endpoint.busName, endpoint.path) as unknown as BusProxy<C>;
  }

  /**
   * Exports `contract` (a module of protocol/dbus) at `path`, answering with `handlers`. Throws at once when the
   * handlers and the contract differ.
   */
  serve<C extends InterfaceContract<any>>(contract: C, path: string, handlers: Handlers<C>, options: Omit<ExportOptions, "interface"> = {}): Served<C> {
    const described: Contract = { source: `protocol/dbus/${contract.name}.xml`, interfaces: [contract.description], childNodes: [] };
    return this.exportService(described, path, handlers as ServiceHandlers, options) as unknown as Served<C>;
  }

  /** A client for one interface of a remote object, using the contract's signatures. */
  client(contract: Contract | string, destination: string, options: { path?: string; interface?: string } = {}): ServiceClient {
    const iface = pickInterface(typeof contract === "string" ? loadContract(contract) : contract, options.interface);
    return new ContractClient(this, iface, destination, options.path ?? objectPathForName(destination));
  }

  /**
   * Takes a well-known name. Fails (rather than queueing) when another connection owns it and does not
   * allow replacement.
   */
  async requestName(name: string, options: { allowReplacement?: boolean; replaceExisting?: boolean } = {}): Promise<void> {
    if (!isValidWellKnownBusName(name)) throw new Error(`"${name}" is not a valid well-known bus name`);
    const flags = (options.allowReplacement ? 0x1 : 0) | (options.replaceExisting ? 0x2 : 0) | 0x4;
    const [reply] = await this.call({ ...DBUS, member: "RequestName", signature: "su", body: [name, flags] });
    if (reply !== 1 && reply !== 4) {
      throw new BusError("org.weft.Error.NameTaken", `bus name ${name} is already owned by another connection`);
    }
    // dbus-next drops calls addressed to a name it last saw owned by someone else.
    delete this.raw._nameOwners[name];
  }

  async releaseName(name: string): Promise<void> {
    await this.call({ ...DBUS, member: "ReleaseName", signature: "s", body: [name] });
  }

  /**
   * Exports the interface a contract describes at `path` (`objectPathForName(busName)` for a service's
   * main object; never `/`), answering with `handlers`. Throws at once when handlers and contract differ.
   */
  exportService(contract: Contract | string, path: string, handlers: ServiceHandlers, options: ExportOptions = {}): ExportedService {
    if (this.#closed) throw new Error("cannot export a service on a closed bus connection");
    return this.#registry.export(contract, path, handlers, options);
  }

  /** Subscribes to signals matching `rule`; the listener gets the signal's arguments. */
  async subscribeSignal(rule: SignalRule, listener: (body: unknown[], message: Message) => void): Promise<Subscription> {
    const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
    const parts = ["type='signal'", `interface=${quote(rule.interface)}`];
    if (rule.sender !== undefined) parts.push(`sender=${quote(rule.sender)}`);
    if (rule.path !== undefined) parts.push(`path=${quote(rule.path)}`);
    if (rule.member !== undefined) parts.push(`member=${quote(rule.member)}`);
    if (rule.extra !== undefined) parts.push(rule.extra);
    const matchRule = parts.join(",");
    // The bus delivers a signal to this connection when ANY of its match rules matches, so every listener checks
    // the message itself. A well-known sender name is compared through its current owner: the bus resolves it
    // for the match rule, but the message names the owner's unique name. The owner is looked up before the
    // match is added and followed through NameOwnerChanged, so no signal from a new owner is missed.
    let owner = rule.sender;
    let ownerWatch: Subscription | undefined;
    if (rule.sender !== undefined && !rule.sender.startsWith(":") && rule.sender !== DBUS.destination) {
      const name = rule.sender;
      ownerWatch = await this.subscribeSignal(
        { sender: DBUS.destination, path: DBUS.path, interface: DBUS.interface, member: "NameOwnerChanged", extra: `arg0=${quote(name)}` },
        (body) => {
          if (body[0] === name) owner = (body[2] as string) || undefined;
        },
      );
      try {
        owner = (await this.call({ ...DBUS, member: "GetNameOwner", signature: "s", body: [name] }))[0] as string;
      } catch {
        owner = undefined; // no owner yet: NameOwnerChanged will say when it has one
      }
    }
    const onMessage = (message: Message) => {
      if ((message.type as number) !== SIGNAL || message.interface !== rule.interface) return;
      if (rule.path !== undefined && message.path !== rule.path) return;
      if (rule.member !== undefined && message.member !== rule.member) return;
      if (rule.sender !== undefined && (owner === undefined || message.sender !== owner)) return;
      try {
        listener(message.body, message);
      } catch (error) {
        this.log.error("signal listener failed", { member: message.member, error: String(error) });
      }
    };
    this.raw.on("message", onMessage);
    try {
      await this.call({ ...DBUS, member: "AddMatch", signature: "s", body: [matchRule] });
    } catch (error) {
      this.raw.off("message", onMessage);
      await ownerWatch?.close();
      throw error;
    }
    let active = true;
    return {
      close: async () => {
        if (!active) return;
        active = false;
        this.raw.off("message", onMessage);
        await ownerWatch?.close();
        if (!this.#closed) await this.call({ ...DBUS, member: "RemoveMatch", signature: "s", body: [matchRule] }).catch(() => undefined);
      },
    };
  }

  /**
   * Calls `listener` with the unique name of every connection that leaves the bus from now on: how a service
   * follows its peers (a supervisor, a UI end), which it knows by unique names, never reused.
   */
  onPeerLeft(listener: (uniqueName: string) => void): Promise<Subscription> {
    // arg2='': the bus sends only departures, not every name change.
    const rule = { sender: DBUS.destination, path: DBUS.path, interface: DBUS.interface, member: "NameOwnerChanged", extra: "arg2=''" };
    return this.subscribeSignal(rule, ([name, , newOwner]) => {
      if (newOwner === "" && typeof name === "string" && name.startsWith(":")) listener(name);
    });
  }

  /** Whether `name` (well-known or unique) has an owner on the bus right now. */
  async nameHasOwner(name: string): Promise<boolean> {
    const [present] = await this.call({ ...DBUS, member: "NameHasOwner", signature: "s", body: [name] });
    return present === true;
  }

  /**
   * Resolves as soon as `name` has no owner (at once when it has none): from NameOwnerChanged, never by polling.
   * Rejects after `timeoutMs`, or as soon as `abandon` rejects.
   */
  waitForRelease(name: string, options: WaitOptions): Promise<void> {
    if (!isValidWellKnownBusName(name)) {
      options.abandon?.catch(() => {});
      return Promise.reject(new Error(`"${name}" is not a valid well-known bus name`));
    }
    return this.waitForSignal(
      { sender: DBUS.destination, path: DBUS.path, interface: DBUS.interface, member: "NameOwnerChanged", extra: `arg0='${name}'` },
      ([changed, , owner]) => (changed === name && owner === "" ? true : undefined),
      {
        ...options,
        timeoutMessage: options.timeoutMessage ?? `${name} still had an owner after ${options.timeoutMs} ms`,
        current: async () => ((await this.nameHasOwner(name)) ? undefined : true),
      },
    ).then(() => undefined);
  }

  /**
   * Resolves with `name`'s owner as soon as it has one: from NameOwnerChanged, never by polling. Rejects after
   * `timeoutMs` (with `timeoutMessage`, or one naming the name), or as soon as `abandon` rejects (the process
   * meant to take it has exited).
   */
  waitForOwner(name: string, options: WaitOptions): Promise<string> {
    if (!isValidWellKnownBusName(name)) {
      options.abandon?.catch(() => {}); // not waited on: its rejection is not ours to report
      return Promise.reject(new Error(`"${name}" is not a valid well-known bus name`));
    }
    return this.waitForSignal(
      { sender: DBUS.destination, path: DBUS.path, interface: DBUS.interface, member: "NameOwnerChanged", extra: `arg0='${name}'` },
      ([changed, , owner]) => (changed === name && typeof owner === "string" && owner !== "" ? owner : undefined),
      { ...options, timeoutMessage: options.timeoutMessage ?? `${name} had no owner within ${options.timeoutMs} ms`, current: () => this.nameOwner(name) },
    );
  }

  /**
   * Resolves with the first value `match` finds in a signal matching `rule`, or in `options.current()` (asked once,
   * after subscribing, for what happened before): waiting on signals, never polling. Rejects after `timeoutMs`,
   * or as soon as `abandon` rejects.
   */
  async waitForSignal<T>(
    rule: SignalRule,
    match: (body: unknown[]) => T | undefined,
    options: WaitOptions & { current?: () => Promise<T | undefined> },
  ): Promise<T> {
    let settle!: (outcome: { value: T } | { error: Error }) => void;
    const outcome = new Promise<{ value: T } | { error: Error }>((resolve) => (settle = resolve));
    // Before any await: an `abandon` that rejects meanwhile must never be an unhandled rejection.
    options.abandon?.catch((error: unknown) => settle({ error: error instanceof Error ? error : new Error(String(error)) }));
    const timer = setTimeout(() => settle({ error: new Error(options.timeoutMessage ?? `no ${rule.member ?? rule.interface} signal within ${options.timeoutMs} ms`) }), options.timeoutMs);
    let subscription: Subscription;
    try {
      subscription = await this.subscribeSignal(rule, (body) => {
        const value = match(body);
        if (value !== undefined) settle({ value });
      });
    } catch (error) {
      clearTimeout(timer);
      throw error;
    }
    try {
      const current = await options.current?.();
      if (current !== undefined) settle({ value: current });
      const settled = await outcome;
      if ("error" in settled) throw settled.error;
      return settled.value;
    } finally {
      clearTimeout(timer);
      await subscription.close();
    }
  }

  /** The unique name owning `name` right now, or undefined when nobody does. */
  async nameOwner(name: string): Promise<string | undefined> {
    try {
      return (await this.call({ ...DBUS, member: "GetNameOwner", signature: "s", body: [name] }))[0] as string;
    } catch (error) {
      if ((error as { type?: string }).type === "org.freedesktop.DBus.Error.NameHasNoOwner") return undefined;
      throw error;
    }
  }

  /** Credentials of a connection on this bus, cached until it disconnects (see credentials.ts). */
  credentials(uniqueName: string): Promise<CallerCredentials> {
    this.#credentials ??= new CredentialsCache(this);
    return this.#credentials.get(uniqueName);
  }

  /** The credentials cache, once a lookup has created it (for tests and diagnostics). */
  get credentialsCache(): CredentialsCache | undefined {
    return this.#credentials;
  }

  /** Unexports every service, fails calls in flight, closes the socket and stops the reader thread. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#registry.unexportAll();
      this.#onEnd();
      this.raw.disconnect();
    }
    await this.#stream.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onEnd(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new BusError(ErrorNames.Disconnected, "the bus connection closed before a reply arrived");
    for (const fail of [...this.#pending.values()]) fail(error);
    void this.#credentials?.close();
  }
}

class ContractClient implements ServiceClient {
  readonly destination: string;
  readonly path: string;
  readonly interfaceName: string;
  readonly #bus: BusConnection;
  readonly #iface: ContractInterface;

  constructor(bus: BusConnection, iface: ContractInterface, destination: string, path: string) {
    this.#bus = bus;
    this.#iface = iface;
    this.destination = destination;
    this.path = path;
    this.interfaceName = iface.name;
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.callWith({}, method, ...args);
  }

  async callWith(options: CallOptions, method: string, ...args: unknown[]): Promise<unknown> {
    const described = this.#iface.methods.find((m) => m.name === method);
    if (described === undefined) throw new Error(`${this.interfaceName} has no method ${method}`);
    if (args.length !== described.inArgs.length) {
      throw new Error(`${this.interfaceName}.${method} takes ${described.inArgs.length} arguments (${described.inSignature}), got ${args.length}`);
    }
    const body = await this.#bus.call(
      { destination: this.destination, path: this.path, interface: this.interfaceName, member: method, signature: described.inSignature, body: args },
      options,
    );
    return described.outArgs.length === 0 ? undefined : described.outArgs.length === 1 ? body[0] : body;
  }

  async get(property: string): Promise<unknown> {
    this.#property(property);
    const [value] = await this.#properties("Get", "ss", [this.interfaceName, property]);
    return (value as Variant).value;
  }

  async set(property: string, value: unknown): Promise<void> {
    const described = this.#property(property);
    await this.#properties("Set", "ssv", [this.interfaceName, property, new Variant(described.type, value)]);
  }

  async getAll(): Promise<Record<string, unknown>> {
    const [dict] = await this.#properties("GetAll", "s", [this.interfaceName]);
    return Object.fromEntries(Object.entries(dict as Record<string, Variant>).map(([k, v]) => [k, v.value]));
  }

  on(signal: string, listener: (...args: unknown[]) => void): Promise<Subscription> {
    if (!this.#iface.signals.some((s) => s.name === signal)) return Promise.reject(new Error(`${this.interfaceName} has no signal ${signal}`));
    return this.#bus.subscribeSignal(
      { sender: this.destination, path: this.path, interface: this.interfaceName, member: signal },
      (body) => listener(...body),
    );
  }

  #property(name: string) {
    const described = this.#iface.properties.find((p) => p.name === name);
    if (described === undefined) throw new Error(`${this.interfaceName} has no property ${name}`);
    return described;
  }

  #properties(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.#bus.call({ destination: this.destination, path: this.path, interface: "org.freedesktop.DBus.Properties", member, signature, body });
  }
}

function toBusError(error: unknown): Error {
  if (error instanceof BusError) return error;
  if (error instanceof Error && "type" in error && typeof (error as { type: unknown }).type === "string") {
    const dbusError = error as Error & { type: string; text?: string };
    return new BusError(dbusError.type, dbusError.text ?? dbusError.message);
  }
  // Not an error reply: the message could not be built or sent (e.g. fds without fd passing, closed socket).
  return error instanceof Error ? error : new Error(String(error));
}
