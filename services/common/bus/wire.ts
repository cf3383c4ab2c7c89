/**
 * The connection object dbus-next's MessageBus is built on (what its own `createConnection()` makes),
 * assembled from dbus-next's handshake, parser and marshaller over our `UnixFdStream`.
 *
 * Two things differ from dbus-next's version, on purpose:
 *  - a message carrying fds on a connection where fd passing was not agreed throws at once (dbus-next
 *    only warns, sends the message without them, and the call hangs);
 *  - received descriptors are tracked per message: whoever consumes the message claims them with
 *    `claimReceivedFds()` while it is being dispatched; unclaimed ones are closed right after dispatch,
 *    so a stray fd (an unknown method, a late reply, a signal) never leaks.
 */
import { EventEmitter } from "node:events";
import { Message } from "dbus-next";
import clientHandshake from "dbus-next/lib/handshake.js";
import { unmarshalMessages, type RawMessage } from "dbus-next/lib/message.js";
import { marshallMessage, messageToJsFmt } from "dbus-next/lib/marshall-compat.js";
import { closeFd } from "./libc.ts";
import type { UnixFdStream } from "./transport.ts";

interface ReceivedFdState {
  fds: number[];
  claimed: boolean;
}

const receivedFds = new WeakMap<Message, ReceivedFdState>();

/**
 * Takes ownership of the descriptors that arrived with `message` (in the order of its `h` indices).
 * Must be called during the synchronous dispatch of the message; afterwards they are already closed.
 */
export function claimReceivedFds(message: Message): number[] {
  const state = receivedFds.get(message);
  if (state === undefined) return [];
  state.claimed = true;
  return state.fds;
}

/** The connection interface MessageBus uses. */
export interface WireConnection extends EventEmitter {
  readonly stream: UnixFdStream;
  /** Serialises and sends a message (buffered until the handshake is done). */
  message(message: Message): void;
  end(): WireConnection;
}

export function createWireConnection(stream: UnixFdStream): WireConnection {
  const connection = new EventEmitter() as WireConnection;
  Object.defineProperty(connection, "stream", { value: stream });
  let connected = false;
  let closed = false;
  const beforeHandshake: Message[] = [];

  const send = (message: Message) => {
    if (closed || !stream.writable) throw new Error("cannot send a D-Bus message: the bus connection is closed");
    const [data, fds] = marshallMessage(message);
    if (fds.length > 0 && !stream.supportsUnixFd) {
      throw new Error(
        `cannot send file descriptors in ${message.interface ?? ""}.${message.member ?? "reply"}: ` +
          "fd passing was not negotiated on this bus connection",
      );
    }
    stream.write(fds.length > 0 ? { data, fds } : data);
  };

  connection.message = (message: Message) => {
    if (!connected && !closed) {
      beforeHandshake.push(message);
      return;
    }
    send(message);
  };
  connection.end = () => {
    stream.end();
    return connection;
  };

  stream.on("error", (error: unknown) => connection.emit("error", error));
  stream.on("end", () => {
    closed = true;
    connection.emit("end");
  });

  clientHandshake(stream, { authMethods: ["EXTERNAL"] }, (error) => {
    if (error) {
      connection.emit("error", error instanceof Error ? error : new Error(`D-Bus authentication failed: ${String(error)}`));
      stream.end();
      return;
    }
    connected = true;
    connection.emit("connect");
    for (const message of beforeHandshake.splice(0)) send(message);

    // The parser reads a 16-byte fixed header with read(16), then the rest with read(n, null): the fds
    // handed out by that second read are the message's own (see transport.ts).
    let lastFds: number[] = [];
    const parserView = {
      on: (event: string, listener: () => void) => stream.on(event, listener),
      read: (size: number, withFds?: null) => {
        if (withFds !== null) return stream.read(size);
        const chunk = stream.read(size, null);
        if (chunk !== null) {
          // Left over only if the parser threw on the previous message before handing it to us.
          for (const fd of lastFds) closeFd(fd);
          lastFds = chunk.fds;
        }
        return chunk;
      },
    };
    unmarshalMessages(
      parserView as unknown as EventEmitter,
      (raw: RawMessage) => {
        const fds = lastFds;
        lastFds = [];
        let message: Message;
        try {
          message = new Message(messageToJsFmt(raw) as never);
        } catch (parseError) {
          for (const fd of fds) closeFd(fd);
          connection.emit("error", new Error(`could not decode a D-Bus message: ${String(parseError)}`));
          return;
        }
        const state: ReceivedFdState = { fds, claimed: false };
        if (fds.length > 0) receivedFds.set(message, state);
        try {
          connection.emit("message", message);
        } finally {
          if (!state.claimed) for (const fd of fds) closeFd(fd);
        }
      },
      {},
    );
  });
  return connection;
}
