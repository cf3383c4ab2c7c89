/**
 * Types for the dbus-next 0.10.2 internals the kit builds on (the version is pinned in package.json).
 * Only what the kit uses is declared. Message `type` values here are the wire values (1..4); the enum in
 * dbus-next's own types.d.ts is off by one, so the kit uses numbers.
 */

declare module "dbus-next/lib/bus.js" {
  import { EventEmitter } from "node:events";
  import type { Message, interface as dbusInterface } from "dbus-next";

  class MessageBus extends EventEmitter {
    constructor(connection: EventEmitter);
    /** Unique name, set once Hello returned. */
    name: string | null;
    call(message: Message): Promise<Message | null>;
    send(message: Message): void;
    newSerial(): number;
    addMethodHandler(handler: (message: Message) => boolean): void;
    removeMethodHandler(handler: (message: Message) => boolean): void;
    export(path: string, iface: dbusInterface.Interface): void;
    unexport(path: string, iface?: dbusInterface.Interface): void;
    disconnect(): void;
    _methodReturnHandlers: Record<number, (reply: Message) => void>;
    _nameOwners: Record<string, string>;
    _serviceObjects: Record<string, { interfaces: Record<string, dbusInterface.Interface>; removeInterface(iface: dbusInterface.Interface): void }>;
  }
  export default MessageBus;
}

declare module "dbus-next/lib/handshake.js" {
  import type { EventEmitter } from "node:events";
  export default function clientHandshake(
    stream: EventEmitter,
    options: { authMethods?: string[] },
    done: (error: unknown, guid?: string) => void,
  ): void;
}

declare module "dbus-next/lib/message.js" {
  import type { EventEmitter } from "node:events";
  /** The wire-format message dbus-next's parser produces, before messageToJsFmt. */
  export interface RawMessage {
    serial: number;
    type: number;
    flags: number;
    body?: unknown[];
    signature?: string;
    [header: string]: unknown;
  }
  export function unmarshalMessages(stream: EventEmitter, onMessage: (message: RawMessage) => void, options: object): void;
}

declare module "dbus-next/lib/marshall-compat.js" {
  import type { Message } from "dbus-next";
  import type { RawMessage } from "dbus-next/lib/message.js";
  /** Converts the body to plain JS values (in place) and returns the same object. */
  export function messageToJsFmt(message: RawMessage): RawMessage;
  /** Serialises a message; returns the bytes and the fds its `h` arguments refer to. Mutates `message.body`. */
  export function marshallMessage(message: Message): [Buffer, number[]];
}
