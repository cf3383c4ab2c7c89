/**
 * The host's end of the VM's control channel: QEMU's socket for the virtio-serial port org.weft.vm.agent, served
 * in the guest by vm/guest/rootfs/usr/local/lib/weft-vm/agent. One line per request and per answer:
 *
 *   host  → guest   <id> <root|weft> <timeout s> <base64 script>
 *   guest → host    <id> <exit code> <base64 stdout> <base64 stderr>
 *
 * Every request has a deadline on both sides: the guest kills the script at its timeout (exit 124), and the host
 * gives up a little later if no answer comes (a guest that hangs). Answers to requests the host gave up on are
 * ignored by their id.
 */

import { connect, type Socket } from "node:net";

export type RunAs = "root" | "weft";

export interface AgentResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class AgentError extends Error {
  override name = "AgentError";
}

/** Extra time the host waits beyond a script's own timeout for its answer to cross the channel. */
const ANSWER_GRACE_MS = 10_000;

export class Agent {
  readonly #socket: Socket;
  #buffer = "";
  #nextId = 1;
  readonly #waiting = new Map<number, (result: AgentResult) => void>();
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#receive(chunk));
    socket.on("close", () => {
      this.#closed = true;
    });
    socket.on("error", () => {
      this.#closed = true;
    });
  }

  /**
   * Connects to QEMU's end of the port (QEMU listens there from its start, whatever the guest does); gives up when
   * `stillRunning` says QEMU is gone, or after the deadline.
   */
  static async connect(path: string, stillRunning: () => boolean = () => true, deadlineMs = 10_000): Promise<Agent> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if (!stillRunning()) throw new AgentError(`QEMU exited before its control socket ${path} could be reached`);
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        return new Agent(socket);
      } catch (error) {
        if (Date.now() > deadline) throw new AgentError(`cannot connect to the VM's control socket ${path}: ${(error as Error).message}`);
        await Bun.sleep(100);
      }
    }
  }

  /**
   * Runs `script` with bash in the guest, as root or as weft (in weft's session environment), killed after
   * `timeoutS`. Rejects when no answer comes within the timeout and a grace.
   */
  run(script: string, options: { as?: RunAs; timeoutS?: number } = {}): Promise<AgentResult> {
    if (this.#closed) return Promise.reject(new AgentError("the VM's control channel is closed (QEMU exited?)"));
    const timeoutS = Math.max(1, Math.round(options.timeoutS ?? 60));
    const fields = [options.as ?? "weft", String(timeoutS), Buffer.from(script).toString("base64")];
    return this.#request(fields, timeoutS * 1000 + ANSWER_GRACE_MS, () => `the guest did not answer within ${timeoutS} s (+${ANSWER_GRACE_MS / 1000} s)`);
  }

  /**
   * Sends a request whose fields after the id are `fields` as they are, well-formed or not (tests of the guest's
   * side); resolves with its answer.
   */
  raw(fields: string[], timeoutMs = 20_000): Promise<AgentResult> {
    return this.#request(fields, timeoutMs, (id) => `no answer to request ${id} within ${timeoutMs / 1000} s`);
  }

  /** Sends one request line (a fresh id, then `fields`) and waits `timeoutMs` for its answer. */
  #request(fields: string[], timeoutMs: number, noAnswer: (id: number) => string): Promise<AgentResult> {
    const id = this.#nextId++;
    return new Promise<AgentResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new AgentError(noAnswer(id)));
      }, timeoutMs);
      this.#waiting.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.#socket.write(`${id} ${fields.join(" ")}\n`);
    });
  }

  /** Like run(), but a non-zero exit is an error carrying the script's output. */
  async check(script: string, options: { as?: RunAs; timeoutS?: number } = {}): Promise<string> {
    const result = await this.run(script, options);
    if (result.code !== 0) {
      const why = result.code === 124 ? `timed out after ${options.timeoutS ?? 60} s` : `exit ${result.code}`;
      throw new AgentError(`${why}: ${(result.stderr.trim() || result.stdout.trim()).split("\n").slice(-6).join(" | ")}`);
    }
    return result.stdout;
  }

  /**
   * Waits until the agent answers (the guest has booted far enough), asking every few seconds: requests sent
   * before the guest opened its end may be lost or answered late, and late answers are ignored.
   */
  async waitUntilAnswering(deadlineMs: number, stillRunning: () => boolean = () => true): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      if (!stillRunning()) throw new AgentError("QEMU exited before the guest answered");
      const answered = await Promise.race([
        this.run("true", { as: "root", timeoutS: 2 }).then(() => true, () => false),
        Bun.sleep(3_000).then(() => false),
      ]);
      if (answered) return;
    }
    throw new AgentError(`the guest did not answer on its control channel within ${Math.round(deadlineMs / 1000)} s`);
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
    for (const resolve of this.#waiting.values()) resolve({ code: -1, stdout: "", stderr: "the control channel was closed" });
    this.#waiting.clear();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    for (let newline = this.#buffer.indexOf("\n"); newline >= 0; newline = this.#buffer.indexOf("\n")) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      const [id, code, stdout = "", stderr = ""] = line.split(" ");
      const resolve = this.#waiting.get(Number(id));
      if (resolve === undefined) continue;
      this.#waiting.delete(Number(id));
      resolve({ code: Number(code), stdout: Buffer.from(stdout, "base64").toString(), stderr: Buffer.from(stderr, "base64").toString() });
    }
  }
}
