/**
 * Processes as /proc shows them: one reader of `/proc/<pid>/stat` for everyone who asks who is alive, whose child
 * a process is, or how much CPU it used. A process may exit while it is looked at: it is then simply not there.
 *
 *   /proc/<pid>/stat   "pid (comm) state ppid … utime stime …"   comm may hold spaces and parentheses,
 *                                                                so the fields are read after the last ')'
 */

import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  /** The command name (up to 15 bytes of the executable's name, or what the process set). */
  comm: string;
  /** R, S, D, Z, T, … (a Z has exited and waits for its parent: it holds nothing). */
  state: string;
  ppid: number;
  /** User and system CPU time, in clock ticks (100 per second on Linux). */
  utimeTicks: number;
  stimeTicks: number;
}

/** The stat of `pid`, or undefined when there is no such process now. */
export function procStat(pid: number | string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  return { comm: text.slice(text.indexOf("(") + 1, close), state: fields[0] ?? "", ppid: Number(fields[1]), utimeTicks: Number(fields[11]), stimeTicks: Number(fields[12]) };
}

/** True while `pid` is a live process (a zombie waiting for its reaper counts as gone). */
export function processAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** The pids of every process now. */
export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The live direct children of `pid`, with their command names. */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const entry of allPids()) {
    const stat = procStat(entry);
    if (stat !== undefined && stat.ppid === pid && stat.state !== "Z") found.push({ pid: entry, comm: stat.comm });
  }
  return found;
}

/** Every process descended from `pid` (children first, deepest last). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of allPids()) {
    const stat = procStat(entry);
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(entry);
    children.set(stat.ppid, list);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Live processes whose command line contains `text`. */
export function processesNaming(text: string): number[] {
  return allPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text) && processAlive(pid);
    } catch {
      return false; // exited while we looked
    }
  });
}
