/**
 * Exporting an interface described by its contract, with handlers written in TypeScript.
 *
 * The contract configures a dbus-next `Interface` (`configureMembers`), which dbus-next uses for
 * `Introspect` (rendered from the contract, argument names and annotations included) and for
 * PropertiesChanged. Method calls and `org.freedesktop.DBus.Properties` calls on kit objects are
 * dispatched here instead of by dbus-next, because handlers need the caller (dbus-next passes only the
 * arguments), a wrong signature must be `InvalidArgs` (dbus-next says UnknownMethod), and a failing handler
 * must not send its stack trace to the caller (dbus-next does).
 *
 * Descriptor ownership:
 *  - fds received as arguments are valid while the handler runs; the kit closes them once the reply is
 *    sent, unless the handler takes them with `ctx.keepFd(fd)` (then the handler closes them);
 *  - fds returned in a reply are sent as they are; the handler still owns them, and hands them to the
 *    kit to close after the reply with `ctx.closeAfterReply(fd)`.
 */
import { DBusError, Message, Variant, interface as dbusInterface } from "dbus-next";
import type MessageBus from "dbus-next/lib/bus.js";
import type { Logger } from "../daemon/log.ts";
import { loadContract, isValidObjectPath, pickInterface, type Contract, type ContractInterface, type ContractMethod, type ContractProperty } from "../../../protocol/dbus/parse.ts";
import type { CallerCredentials } from "./credentials.ts";
import { ErrorNames } from "./errors.ts";
import { closeFd } from "./libc.ts";
import { claimReceivedFds } from "./wire.ts";

const NO_REPLY_EXPECTED = 0x1;
const PROPERTIES = "org.freedesktop.DBus.Properties";
const STANDARD_INTERFACES = new Set(["org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer", PROPERTIES]);
const EMITS_CHANGED = "org.freedesktop.DBus.Property.EmitsChangedSignal";

/** What a handler learns about the call it serves. */
export interface CallContext {
  /** The caller's unique name, as the bus stamped it on the message. */
  readonly sender: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  /** The caller's uid/pid (and pidfd where available), from the bus; fetched once per caller and cached. */
  credentials(): Promise<CallerCredentials>;
  /** Takes ownership of a received fd argument: the kit will not close it after the reply. */
  keepFd(fd: number): number;
  /** Closes `fd` once the reply carrying it has been sent (for fds a handler returns). Returns `fd`. */
  closeAfterReply(fd: number): number;
  /** The service's logger, with the method and caller bound. */
  readonly log: Logger;
}

/**
 * A method handler: receives the in-arguments (already checked against the contract's signature, as
 * dbus-next's JS values: numbers, strings, arrays, objects for `a{sv}` with `Variant` values, Buffers for
 * `ay`, bigint for `x`/`t`, fd numbers for `h`) and returns the out-arguments: nothing for none, the value
 * for one, an array for several. Throw `busError(…)` for expected failures.
 */
export type MethodHandler = (args: any, ctx: CallContext) => unknown;

/** Property accessors: `get` for readable properties, `set` for writable ones (exactly those). */
export interface PropertyHandler {
  get?: (ctx: CallContext) => unknown;
  set?: (value: any, ctx: CallContext) => unknown;
}

export interface ServiceHandlers {
  methods?: Record<string, MethodHandler>;
  properties?: Record<string, PropertyHandler>;
}

export interface ExportOptions {
  /** Which interface of the contract to export; needed only when it describes several. */
  interface?: string;
  /** Longest string (in UTF-16 units) or byte array accepted in any argument; 1 MiB by default. */
  maxStringLength?: number;
}

/** An exported interface on one object path. */
export interface ExportedService {
  readonly path: string;
  readonly interfaceName: string;
  readonly contract: ContractInterface;
  /** Emits a signal of the contract with its arguments; throws on an unknown signal or wrong arity. */
  emit(signal: string, ...args: unknown[]): void;
  /**
   * Emits a unicast signal: the bus delivers it to `destination` (a unique name) only, never to other match
   * rules, so it carries what only one peer may see (a session's IPC).
   */
  emitTo(destination: string, signal: string, ...args: unknown[]): void;
  /** Emits PropertiesChanged for properties of this interface, with their new values. */
  propertiesChanged(changed: Record<string, unknown>, invalidated?: string[]): void;
  /** Stops answering on this path/interface. */
  unexport(): void;
}

/** What the registry needs from its connection. */
export interface ServiceHost {
  readonly raw: MessageBus;
  readonly log: Logger;
  credentials(uniqueName: string): Promise<CallerCredentials>;
}

const DEFAULT_MAX_STRING_LENGTH = 1024 * 1024;
let incidentCounter = 0;

/** All services exported on one connection, and the dispatcher dbus-next calls before its own. */
export class ServiceRegistry {
  readonly #host: ServiceHost;
  readonly #byPath = new Map<string, Map<string, ContractService>>();

  constructor(host: ServiceHost) {
    this.#host = host;
    host.raw.addMethodHandler((message) => this.#dispatch(message));
  }

  export(contractSource: Contract | string, path: string, handlers: ServiceHandlers, options: ExportOptions = {}): ExportedService {
    const contract = typeof contractSource === "string" ? loadContract(contractSource) : contractSource;
    const iface = pickInterface(contract, options.interface);
    if (!isValidObjectPath(path)) throw new Error(`"${path}" is not a valid object path`);
    if (path === "/") throw new Error(`export ${iface.name} on / + its bus name with dots as slashes, never on /`);
    if (this.#byPath.get(path)?.has(iface.name)) throw new Error(`${iface.name} is already exported at ${path}`);
    const service = new ContractService(this.#host, iface, contract.source, path, handlers, options, () => {
      const atPath = this.#byPath.get(path);
      atPath?.delete(iface.name);
      if (atPath?.size === 0) this.#byPath.delete(path);
    });
    let atPath = this.#byPath.get(path);
    if (atPath === undefined) this.#byPath.set(path, (atPath = new Map()));
    atPath.set(iface.name, service);
    return service;
  }

  unexportAll(): void {
    for (const atPath of [...this.#byPath.values()]) for (const service of [...atPath.values()]) service.unexport();
  }

  /** Returns true when the message was answered here; false hands it to dbus-next. Never throws. */
  #dispatch(message: Message): boolean {
    try {
      return this.#route(message);
    } catch (error) {
      this.#host.log.error("dispatching a method call failed", { member: message.member, error: String(error) });
      sendError(this.#host, message, ErrorNames.Internal, "internal error while dispatching the call");
      return true;
    }
  }

  #route(message: Message): boolean {
    const atPath = this.#byPath.get(message.path);
    const ifaceName = message.interface as string | undefined;
    if (atPath === undefined) {
      // Introspection of parent paths and Peer work anywhere; anything else at a path nobody exports is an error.
      if ((ifaceName !== undefined && STANDARD_INTERFACES.has(ifaceName)) || this.#host.raw._serviceObjects[message.path]) return false;
      sendError(this.#host, message, ErrorNames.UnknownObject, `no object at ${message.path}`);
      return true;
    }
    if (ifaceName === PROPERTIES) return this.#routeProperties(message, atPath);
    if (ifaceName === undefined) {
      // The interface field is optional in a method call: pick the one interface here that has the member.
      const candidates = [...atPath.values()].filter((s) => s.hasMethod(message.member));
      if (candidates.length === 1) return candidates[0]!.dispatch(message);
      if (STANDARD_INTERFACES.has(`org.freedesktop.DBus.${message.member}`)) return false;
      sendError(this.#host, message, ErrorNames.UnknownMethod, `no unambiguous method ${message.member} at ${message.path}: name the interface`);
      return true;
    }
    const service = atPath.get(ifaceName);
    if (service !== undefined) return service.dispatch(message);
    if (STANDARD_INTERFACES.has(ifaceName)) return false;
    sendError(
      this.#host,
      message,
      ErrorNames.UnknownInterface,
      `object ${message.path} has no interface ${ifaceName} (it has ${[...atPath.keys()].join(", ")})`,
    );
    return true;
  }

  #routeProperties(message: Message, atPath: Map<string, ContractService>): boolean {
    const expected: Record<string, string> = { Get: "ss", Set: "ssv", GetAll: "s" };
    const want = expected[message.member];
    if (want === undefined) {
      sendError(this.#host, message, ErrorNames.UnknownMethod, `${PROPERTIES} has no method ${message.member}`);
      return true;
    }
    if ((message.signature ?? "") !== want) {
      sendError(this.#host, message, ErrorNames.InvalidArgs, `${PROPERTIES}.${message.member} takes (${want}), got (${message.signature ?? ""})`);
      return true;
    }
    const ifaceName = message.body[0] as string;
    const service = atPath.get(ifaceName);
    if (service === undefined) {
      sendError(this.#host, message, ErrorNames.UnknownInterface, `object ${message.path} has no interface ${ifaceName}`);
      return true;
    }
    service.dispatchProperties(message);
    return true;
  }
}

/** One contract interface exported at one path. */
class ContractService implements ExportedService {
  readonly path: string;
  readonly interfaceName: string;
  readonly contract: ContractInterface;
  readonly #host: ServiceHost;
  readonly #methods = new Map<string, { method: ContractMethod; handler: MethodHandler }>();
  readonly #properties = new Map<string, { property: ContractProperty; handler: PropertyHandler }>();
  readonly #iface: dbusInterface.Interface;
  readonly #maxStringLength: number;
  readonly #onUnexport: () => void;
  readonly #log: Logger;
  #exported = true;

  constructor(
    host: ServiceHost,
    contract: ContractInterface,
    source: string,
    path: string,
    handlers: ServiceHandlers,
    options: ExportOptions,
    onUnexport: () => void,
  ) {
    this.#host = host;
    this.contract = contract;
    this.path = path;
    this.interfaceName = contract.name;
    this.#maxStringLength = options.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    this.#onUnexport = onUnexport;
    this.#log = host.log.with({ iface: contract.name, path });
    this.#bindHandlers(handlers, source);
    this.#iface = makeInterface(contract);
    host.raw.export(path, this.#iface);
  }

  hasMethod(member: string): boolean {
    return this.#methods.has(member);
  }

  emit(signal: string, ...args: unknown[]): void {
    this.#host.raw.send(this.#signal(signal, args));
  }

  emitTo(destination: string, signal: string, ...args: unknown[]): void {
    const message = this.#signal(signal, args);
    message.destination = destination;
    this.#host.raw.send(message);
  }

  #signal(signal: string, args: unknown[]): Message {
    const described = this.contract.signals.find((s) => s.name === signal);
    if (described === undefined) throw new Error(`${this.interfaceName} has no signal ${signal}`);
    if (args.length !== described.args.length) {
      throw new Error(`signal ${this.interfaceName}.${signal} takes ${described.args.length} arguments (${described.signature}), got ${args.length}`);
    }
    return Message.newSignal(this.path, this.interfaceName, signal, described.signature, args);
  }

  propertiesChanged(changed: Record<string, unknown>, invalidated: string[] = []): void {
    for (const name of [...Object.keys(changed), ...invalidated]) {
      if (!this.#properties.has(name)) throw new Error(`${this.interfaceName} has no property ${name}`);
    }
    dbusInterface.Interface.emitPropertiesChanged(this.#iface, changed, invalidated);
  }

  unexport(): void {
    if (!this.#exported) return;
    this.#exported = false;
    // dbus-next's unexport(path, iface) tests `interfaces.length` on an object (always undefined) and so drops
    // every interface at the path: remove ours alone, and the object only when it was the last one.
    const object = this.#host.raw._serviceObjects[this.path];
    if (object !== undefined && Object.keys(object.interfaces).some((name) => name !== this.interfaceName)) {
      object.removeInterface(this.#iface);
    } else {
      this.#host.raw.unexport(this.path);
    }
    this.#onUnexport();
  }

  dispatch(message: Message): boolean {
    const entry = this.#methods.get(message.member);
    if (entry === undefined) {
      sendError(this.#host, message, ErrorNames.UnknownMethod, `${this.interfaceName} has no method ${message.member}`);
      return true;
    }
    const { method, handler } = entry;
    const signature = message.signature ?? "";
    if (signature !== method.inSignature) {
      sendError(
        this.#host,
        message,
        ErrorNames.InvalidArgs,
        `${this.interfaceName}.${method.name} takes (${method.inSignature}), got (${signature})`,
      );
      return true;
    }
    const tooLong = findOversized(message.body, this.#maxStringLength);
    if (tooLong !== undefined) {
      sendError(
        this.#host,
        message,
        ErrorNames.LimitsExceeded,
        `${this.interfaceName}.${method.name}: argument ${tooLong} is longer than ${this.#maxStringLength}`,
      );
      return true;
    }
    const call = new Call(this.#host, message, claimReceivedFds(message), this.#log);
    const replyWith = (value: unknown) => {
      const outCount = method.outArgs.length;
      if (outCount > 1 && (!Array.isArray(value) || value.length !== outCount)) {
        throw new Error(`handler returned ${describe(value)}; ${method.name} has ${outCount} out-arguments (${method.outSignature}): return an array`);
      }
      const body = outCount === 0 ? [] : outCount === 1 ? [value] : (value as unknown[]);
      call.reply(Message.newMethodReturn(message, method.outSignature, body));
    };
    call.run(() => handler(message.body, call.context), replyWith);
    return true;
  }

  dispatchProperties(message: Message): void {
    const member = message.member;
    const call = new Call(this.#host, message, claimReceivedFds(message), this.#log);
    if (member === "GetAll") {
      const readable = [...this.#properties.values()].filter((p) => p.property.access !== "write");
      call.run(
        () => Promise.all(readable.map((p) => p.handler.get!(call.context))),
        (values) => {
          const dict: Record<string, Variant> = {};
          readable.forEach((p, i) => (dict[p.property.name] = new Variant(p.property.type, (values as unknown[])[i])));
          call.reply(Message.newMethodReturn(message, "a{sv}", [dict]));
        },
      );
      return;
    }
    const name = message.body[1] as string;
    const entry = this.#properties.get(name);
    if (entry === undefined) {
      call.fail(ErrorNames.UnknownProperty, `${this.interfaceName} has no property ${name}`);
      return;
    }
    const { property, handler } = entry;
    if (member === "Get") {
      if (handler.get === undefined) {
        call.fail(ErrorNames.AccessDenied, `property ${this.interfaceName}.${name} is write-only`);
        return;
      }
      const get = handler.get;
      call.run(
        () => get(call.context),
        (value) => call.reply(Message.newMethodReturn(message, "v", [new Variant(property.type, value)])),
      );
      return;
    }
    const value = message.body[2] as Variant;
    if (handler.set === undefined) {
      call.fail(ErrorNames.PropertyReadOnly, `property ${this.interfaceName}.${name} is read-only`);
      return;
    }
    if (value.signature !== property.type) {
      call.fail(ErrorNames.InvalidArgs, `property ${this.interfaceName}.${name} has type ${property.type}, got ${value.signature}`);
      return;
    }
    const tooLong = findOversized([value.value], this.#maxStringLength);
    if (tooLong !== undefined) {
      call.fail(ErrorNames.LimitsExceeded, `value for ${this.interfaceName}.${name} is longer than ${this.#maxStringLength}`);
      return;
    }
    const set = handler.set;
    call.run(
      () => set(value.value, call.context),
      async () => {
        call.reply(Message.newMethodReturn(message, "", []));
        await this.#announceChange(property, handler, call.context);
      },
    );
  }

  async #announceChange(property: ContractProperty, handler: PropertyHandler, ctx: CallContext): Promise<void> {
    const mode = property.annotations.find((a) => a.name === EMITS_CHANGED)?.value ?? "true";
    try {
      if (mode === "invalidates" || (mode === "true" && handler.get === undefined)) this.propertiesChanged({}, [property.name]);
      else if (mode === "true") this.propertiesChanged({ [property.name]: await handler.get!(ctx) });
    } catch (error) {
      this.#log.warn("could not emit PropertiesChanged", { property: property.name, error: String(error) });
    }
  }

  /** Misconfiguration is a programming error: say exactly what is missing or extra, at export time. */
  #bindHandlers(handlers: ServiceHandlers, source: string): void {
    const problems: string[] = [];
    const methods = handlers.methods ?? {};
    const properties = handlers.properties ?? {};
    for (const method of this.contract.methods) {
      const handler = methods[method.name];
      if (typeof handler !== "function") problems.push(`method ${method.name} has no handler`);
      else this.#methods.set(method.name, { method, handler });
    }
    for (const name of Object.keys(methods)) {
      if (!this.contract.methods.some((m) => m.name === name)) problems.push(`handler for method ${name}, which the contract does not have`);
    }
    for (const property of this.contract.properties) {
      const handler = properties[property.name];
      const readable = property.access !== "write";
      const writable = property.access !== "read";
      if (handler === undefined) {
        problems.push(`property ${property.name} (${property.access}) has no handler`);
        continue;
      }
      if (readable && typeof handler.get !== "function") problems.push(`property ${property.name} is readable but has no get()`);
      if (!readable && handler.get !== undefined) problems.push(`property ${property.name} is write-only but has a get()`);
      if (writable && typeof handler.set !== "function") problems.push(`property ${property.name} is writable but has no set()`);
      if (!writable && handler.set !== undefined) problems.push(`property ${property.name} is read-only but has a set()`);
      this.#properties.set(property.name, { property, handler });
    }
    for (const name of Object.keys(properties)) {
      if (!this.contract.properties.some((p) => p.name === name)) problems.push(`handler for property ${name}, which the contract does not have`);
    }
    if (problems.length > 0) {
      throw new Error(`handlers for ${this.contract.name} do not match ${source}:\n  ${problems.join("\n  ")}`);
    }
  }
}

/** One incoming call: its context, the fds it carries, and exactly one answer. */
class Call {
  readonly context: CallContext;
  readonly #host: ServiceHost;
  readonly #message: Message;
  readonly #receivedFds: Set<number>;
  readonly #closeAfterReply: number[] = [];
  readonly #serviceLog: Logger;
  #callLog: Logger | undefined;
  #answered = false;

  constructor(host: ServiceHost, message: Message, receivedFds: number[], log: Logger) {
    this.#host = host;
    this.#message = message;
    this.#receivedFds = new Set(receivedFds);
    this.#serviceLog = log;
    const sender = message.sender;
    const call = this;
    this.context = {
      sender,
      path: message.path,
      interface: message.interface,
      member: message.member,
      credentials: () => host.credentials(sender),
      keepFd: (fd) => {
        this.#receivedFds.delete(fd);
        return fd;
      },
      closeAfterReply: (fd) => {
        this.#closeAfterReply.push(fd);
        return fd;
      },
      get log() {
        return call.#log;
      },
    };
  }

  /** Built on first use: most calls never log. */
  get #log(): Logger {
    return (this.#callLog ??= this.#serviceLog.with({ member: this.#message.member, sender: this.#message.sender }));
  }

  /** Runs the handler; sync results are answered without a detour through the microtask queue. */
  run(handler: () => unknown, onResult: (value: unknown) => unknown): void {
    let result: unknown;
    try {
      result = handler();
    } catch (error) {
      this.#failWith(error);
      return;
    }
    const finish = (value: unknown) => {
      try {
        const done = onResult(value);
        if (done instanceof Promise) done.catch((error) => this.#failWith(error));
      } catch (error) {
        this.#failWith(error);
      }
    };
    if (result instanceof Promise || (typeof result === "object" && result !== null && typeof (result as PromiseLike<unknown>).then === "function")) {
      Promise.resolve(result).then(finish, (error) => this.#failWith(error));
    } else {
      finish(result);
    }
  }

  reply(reply: Message): void {
    if (this.#answered) return;
    try {
      this.#send(reply);
    } catch (error) {
      // Marshalling failed (the handler returned the wrong type) or the connection is gone.
      this.#failWith(error);
      return;
    }
    this.#answered = true;
    this.#cleanup();
  }

  fail(type: string, text: string): void {
    if (this.#answered) return;
    this.#answered = true;
    sendError(this.#host, this.#message, type, text);
    this.#cleanup();
  }

  #failWith(error: unknown): void {
    if (this.#answered) return;
    if (error instanceof DBusError) {
      this.fail(error.type, error.text ?? error.message);
      return;
    }
    const ref = `${process.pid.toString(36)}-${(++incidentCounter).toString(36)}`;
    this.#log.error("handler failed", { ref, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    this.fail(
      ErrorNames.Internal,
      `internal error in ${this.#message.interface ?? ""}.${this.#message.member} (ref ${ref}); the service logged the details`,
    );
  }

  #send(reply: Message): void {
    if ((this.#message.flags & NO_REPLY_EXPECTED) !== 0) return;
    this.#host.raw.send(reply);
  }

  #cleanup(): void {
    for (const fd of this.#receivedFds) closeFd(fd);
    this.#receivedFds.clear();
    for (const fd of this.#closeAfterReply.splice(0)) closeFd(fd);
  }
}

function sendError(host: ServiceHost, message: Message, type: string, text: string): void {
  if ((message.flags & NO_REPLY_EXPECTED) !== 0) return;
  try {
    host.raw.send(Message.newError(message as never, type, text));
  } catch (error) {
    host.log.debug("could not send an error reply", { type, error: String(error) });
  }
}

function makeInterface(contract: ContractInterface): dbusInterface.Interface {
  class ContractInterface extends dbusInterface.Interface {}
  ContractInterface.configureMembers({
    methods: Object.fromEntries(contract.methods.map((m) => [m.name, { inSignature: m.inSignature, outSignature: m.outSignature }])),
    properties: Object.fromEntries(contract.properties.map((p) => [p.name, { signature: p.type, access: p.access }])),
    signals: Object.fromEntries(contract.signals.map((s) => [s.name, { signature: s.signature }])),
  });
  const iface = new ContractInterface(contract.name);
  // dbus-next's own rendering drops argument names and annotations; answer with the contract itself.
  (iface as unknown as { $introspect: () => unknown }).$introspect = () => introspectionTree(contract);
  return iface;
}

/** The contract in the shape dbus-next's XML builder (xml2js) serialises. */
function introspectionTree(contract: ContractInterface): unknown {
  const annotations = (list: { name: string; value: string }[]) => list.map((a) => ({ $: { name: a.name, value: a.value } }));
  const arg = (a: { name?: string; type: string; annotations: { name: string; value: string }[] }, direction?: string) => ({
    $: { ...(a.name === undefined ? {} : { name: a.name }), type: a.type, ...(direction === undefined ? {} : { direction }) },
    annotation: annotations(a.annotations),
  });
  return {
    $: { name: contract.name },
    annotation: annotations(contract.annotations),
    method: contract.methods.map((m) => ({
      $: { name: m.name },
      arg: [...m.inArgs.map((a) => arg(a, "in")), ...m.outArgs.map((a) => arg(a, "out"))],
      annotation: annotations(m.annotations),
    })),
    signal: contract.signals.map((s) => ({ $: { name: s.name }, arg: s.args.map((a) => arg(a)), annotation: annotations(s.annotations) })),
    property: contract.properties.map((p) => ({ $: { name: p.name, type: p.type, access: p.access }, annotation: annotations(p.annotations) })),
  };
}

/** Where in the arguments a string or byte array exceeds `limit` (e.g. `#2[3].key`), or undefined. */
function findOversized(values: unknown[], limit: number): string | undefined {
  const visit = (value: unknown, where: string, depth: number): string | undefined => {
    if (typeof value === "string" || value instanceof Uint8Array) return value.length > limit ? where : undefined;
    if (depth > 64) return undefined;
    if (value instanceof Variant) return visit(value.value, where, depth + 1);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${where}[${i}]`, depth + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (typeof value === "object" && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key.length > limit) return `${where} (a key)`;
        const found = visit(inner, `${where}.${key.slice(0, 32)}`, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  for (let i = 0; i < values.length; i++) {
    const found = visit(values[i], `#${i + 1}`, 0);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describe(value: unknown): string {
  return Array.isArray(value) ? `an array of ${value.length}` : typeof value;
}
