/**
 * Processes as /proc shows them: one reader of `/proc/<pid>/stat` for everyone who asks who is alive, whose child
 * a process is, or how much CPU it used. A process may exit while it is looked at: it is then simply not there.
 *
 *   /proc/<pid>/stat   "pid (comm) state ppid … utime stime …"   comm may hold spaces and parentheses,
 *                                                                so the fields are read after the last ')'
 */

import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
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
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", ppid: Number(fields[1]), utimeTicks: Number(fields[11]), stimeTicks: Number(fields[12]) };
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
