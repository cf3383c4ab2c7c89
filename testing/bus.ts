/**
 * Test fixtures for services on D-Bus: a private dbus-daemon per test file (private-bus.ts), `busctl` as an
 * independent client, and the check that a running service's introspection equals its contract file.
 *
 * @example
 * let bus: PrivateBus;
 * beforeAll(async () => (bus = await startPrivateBus()));
 * afterAll(() => bus.close());
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { InterfaceContract } from "../protocol/dbus/contract.ts";
import { contractPath, loadContract, parseContract, pickInterface, type Contract, type ContractArg, type ContractInterface } from "../protocol/dbus/parse.ts";

export { startPrivateBus, type PrivateBus, type PrivateBusOptions } from "../services/common/bus/private-bus.ts";

export interface BusctlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Pid of the busctl process (what the service sees as the caller's pid). */
  pid: number;
}

/**
 * Runs `busctl --address=<address> <args…>` (`busctl --user` when `address` is "user": the user's own bus) and
 * returns its output; never throws on a non-zero exit.
 */
export async function busctl(address: string, args: string[], options: { timeoutMs?: number } = {}): Promise<BusctlResult> {
  const bus = address === "user" ? "--user" : `--address=${address}`;
  const child = Bun.spawn(["busctl", bus, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr, pid: child.pid };
}

export interface IntrospectionCheck {
  /** A D-Bus address, or "user" for the user's own bus (`busctl --user`). */
  address: string;
  /** Bus name of the service. */
  destination: string;
  /** Object path; never `/`. */
  path: string;
  /** A contract module of protocol/dbus (compared with its XML), a parsed contract, its file path, or its XML. */
  contract: InterfaceContract<any> | Contract | string;
  /** Which interface of the contract to check; every one of them when omitted. */
  interface?: string;
}

/**
 * Asks the running service for its introspection data through `busctl introspect --xml-interface` and
 * throws, listing every difference, unless each checked interface shows exactly the contract's methods
 * (argument names, types and directions), properties (type, access) and signals, with their annotations.
 * Returns the interfaces it compared.
 */
export async function expectIntrospectionMatchesContract(check: IntrospectionCheck): Promise<ContractInterface[]> {
  if (check.path === "/") throw new Error("services never export on /: use / + the bus name with dots as slashes");
  // A contract module is compared with the XML it was made from: the XML is the contract.
  const module = typeof check.contract === "object" && "description" in check.contract ? check.contract : undefined;
  const contract =
    module !== undefined ? loadContract(contractPath(module.name)) : typeof check.contract === "string" ? loadContract(check.contract) : (check.contract as Contract);
  const interfaceName = module?.name ?? check.interface;
  const expected = interfaceName === undefined ? contract.interfaces : [pickInterface(contract, interfaceName)];
  const result = await busctl(check.address, ["introspect", "--xml-interface", check.destination, check.path]);
  if (result.exitCode !== 0) {
    throw new Error(`busctl introspect ${check.destination} ${check.path} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  const shown = parseContract(result.stdout, `busctl introspect ${check.destination} ${check.path}`, { allowChildNodes: true });
  const differences: string[] = [];
  for (const iface of expected) {
    const actual = shown.interfaces.find((i) => i.name === iface.name);
    if (actual === undefined) {
      differences.push(`interface ${iface.name} is not exported at ${check.path}`);
      continue;
    }
    differences.push(...compareInterfaces(iface, actual));
  }
  if (differences.length > 0) {
    throw new Error(
      `introspection of ${check.destination} ${check.path} differs from ${contract.source}:\n  ${differences.join("\n  ")}`,
    );
  }
  return expected;
}

/** Every difference between two descriptions of one interface, as readable lines (empty when equal). */
export function compareInterfaces(expected: ContractInterface, actual: ContractInterface): string[] {
  const differences: string[] = [];
  const describeArgs = (args: ContractArg[], direction?: string) =>
    args.map((a) => `${a.name ?? "?"}:${a.type}${direction === undefined ? "" : `:${direction}`}`).join(", ");
  const describeAnnotations = (list: { name: string; value: string }[]) =>
    list.map((a) => `${a.name}=${a.value}`).sort().join(", ");
  const compareMembers = <T extends { name: string }>(kind: string, want: T[], have: T[], describe: (member: T) => string) => {
    for (const member of want) {
      const other = have.find((m) => m.name === member.name);
      if (other === undefined) differences.push(`${kind} ${expected.name}.${member.name} is missing`);
      else if (describe(member) !== describe(other)) {
        differences.push(`${kind} ${expected.name}.${member.name}: contract has ${describe(member)}, service shows ${describe(other)}`);
      }
    }
    for (const member of have) {
      if (!want.some((m) => m.name === member.name)) differences.push(`${kind} ${expected.name}.${member.name} is not in the contract`);
    }
  };
  compareMembers("method", expected.methods, actual.methods, (m) =>
    `(${describeArgs(m.inArgs, "in")}) → (${describeArgs(m.outArgs, "out")}) [${describeAnnotations(m.annotations)}]`,
  );
  compareMembers("property", expected.properties, actual.properties, (p) => `${p.type} ${p.access} [${describeAnnotations(p.annotations)}]`);
  compareMembers("signal", expected.signals, actual.signals, (s) => `(${describeArgs(s.args)}) [${describeAnnotations(s.annotations)}]`);
  if (describeAnnotations(expected.annotations) !== describeAnnotations(actual.annotations)) {
    differences.push(`annotations of ${expected.name}: contract has [${describeAnnotations(expected.annotations)}], service shows [${describeAnnotations(actual.annotations)}]`);
  }
  return differences;
}

/** How many of this process's fds refer to the same open file as `identity` (a /proc/self/fd link text). */
export function fdsPointingAt(identity: string): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === identity) count++;
    } catch {
      // closed between listing and reading
    }
  }
  return count;
}

export const openFdCount = (): number => readdirSync("/proc/self/fd").length;

/**
 * The Worker thread count once it has stopped changing (the same for 200 ms): a Worker that just finished may
 * keep its thread a moment longer, and a baseline that still counts it would make a leak check wait forever.
 */
export async function settledWorkerThreadCount(): Promise<number> {
  let last = workerThreadCount();
  for (let stableFor = 0; stableFor < 200; stableFor += 20) {
    await Bun.sleep(20);
    const now = workerThreadCount();
    if (now !== last) {
      last = now;
      stableFor = -20;
    }
  }
  return last;
}

/**
 * Threads of this process running a Bun Worker (the transport's readers among them), by their kernel name.
 * Counting only these keeps leak checks exact while the runtime's own threads (JIT, GC) come and go.
 */
export function workerThreadCount(): number {
  let count = 0;
  for (const task of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim() === "Worker") count++;
    } catch {
      // the thread exited between listing and reading
    }
  }
  return count;
}
