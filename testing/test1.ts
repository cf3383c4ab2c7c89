/**
 * The `org.weft.Test1` service the kit's own tests run (contract: protocol/dbus/org.weft.Test1.xml).
 * Not used by any real service.
 */
import type { Logger } from "../services/common/daemon/log.ts";
import { connectBus, type BusConnection, type ServiceClient } from "../services/common/bus/connection.ts";
import { contractPath, objectPathForName } from "../protocol/dbus/parse.ts";
import { busError, type BusError } from "../services/common/bus/errors.ts";
import { closeFd, makePipe, readAllFd, writeAllFd } from "../services/common/bus/libc.ts";
import type { ExportedService, ExportOptions } from "../services/common/bus/service.ts";
import { startPrivateBus, type PrivateBus } from "./bus.ts";

export const TEST1 = "org.weft.Test1";
export const TEST1_PATH = objectPathForName(TEST1);
export const TEST1_CONTRACT = contractPath(TEST1);

export interface Test1State {
  counter: number;
  secret: string;
  /** Descriptors ReadFd received, in order (they are closed by the kit after the reply unless kept). */
  receivedFds: number[];
  /** When true, ReadFd keeps (and so must close) the fd it received. */
  keepReceivedFd: boolean;
  service: ExportedService;
}

export function exportTest1(bus: BusConnection, options: ExportOptions = {}): Test1State {
  const state = { counter: 0, secret: "", receivedFds: [], keepReceivedFd: false } as unknown as Test1State;
  state.service = bus.exportService(
    TEST1_CONTRACT,
    TEST1_PATH,
    {
      methods: {
        Echo: ([text]) => text,
        EchoBytes: ([data]: [Buffer]) => data,
        Mix: ([count, names, options]: [number, string[], Record<string, unknown>]) => [BigInt(count) * 2n, names.join(","), Object.keys(options)],
        Fail: ([name, message]: [string, string]) => {
          throw busError(TEST1, name, message);
        },
        Crash: () => {
          throw new TypeError("a bug in the handler");
        },
        Never: () => new Promise(() => {}),
        ReadFd: ([fd]: [number], ctx) => {
          state.receivedFds.push(fd);
          if (state.keepReceivedFd) ctx.keepFd(fd);
          return new TextDecoder().decode(readAllFd(fd));
        },
        OpenFd: ([content]: [string], ctx) => {
          const [readEnd, writeEnd] = makePipe();
          writeAllFd(writeEnd, new TextEncoder().encode(content));
          closeFd(writeEnd);
          return ctx.closeAfterReply(readEnd);
        },
        WhoAmI: async (_args, ctx) => {
          const credentials = await ctx.credentials();
          return [ctx.sender, credentials.uid, credentials.pid ?? 0];
        },
        Ping: ([text]: [string]) => state.service.emit("Pinged", text),
      },
      properties: {
        Version: { get: () => "1.0" },
        Counter: {
          get: () => state.counter,
          set: (value: number) => {
            if (value < 0) throw busError(TEST1, "Negative", "Counter cannot be negative");
            state.counter = value;
          },
        },
        Secret: { set: (value: string) => void (state.secret = value) },
      },
    },
    options,
  );
  return state;
}

/** For tests: `promise.then(unexpectedSuccess, failed)` resolves with the error the promise rejects with. */
export function unexpectedSuccess(value: unknown): never {
  throw new Error(`expected a failure, got ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
}
export const failed = (error: unknown): BusError => error as BusError;

/** A private bus with Test1 exported on one connection and a client of it on another. */
export interface Test1World {
  bus: PrivateBus;
  service: BusConnection;
  client: BusConnection;
  test1: ServiceClient;
  state: Test1State;
  /** Closes both connections, then the bus. */
  close(): Promise<void>;
}

export async function startTest1World(options: { serviceLogger?: Logger } = {}): Promise<Test1World> {
  const bus = await startPrivateBus();
  let service: BusConnection | undefined;
  let client: BusConnection | undefined;
  try {
    service = await connectBus({ address: bus.address, logger: options.serviceLogger });
    await service.requestName(TEST1);
    client = await connectBus({ address: bus.address });
  } catch (error) {
    // A world that cannot start must not leave its daemon behind: the test's afterAll never gets it.
    await client?.close();
    await service?.close();
    await bus.close();
    throw error;
  }
  const state = exportTest1(service);
  return {
    bus,
    service,
    client,
    test1: client.client(TEST1_CONTRACT, TEST1),
    state,
    async close() {
      await client.close();
      await service.close();
      await bus.close();
    },
  };
}
