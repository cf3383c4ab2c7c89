/**
 * The guest's stdout and stderr, turned into log lines tagged with app and session (the logger carries the
 * tags). Output is cut into lines here so one write cannot forge several log records, long lines are cut at
 * MAX_LINE, and bytes that are not UTF-8 are replaced rather than passed through.
 */

import type { Logger } from "../common/daemon/log.ts";

export const MAX_LINE = 4096;

export class GuestOutput {
  readonly #pending = { stdout: "", stderr: "" };
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(readonly log: Logger) {}

  write(stream: "stdout" | "stderr", bytes: Uint8Array): void {
    let text = this.#pending[stream] + this.#decoders[stream].decode(bytes, { stream: true });
    let newline: number;
    while ((newline = text.indexOf("\n")) !== -1) {
      this.#emit(stream, text.slice(0, newline));
      text = text.slice(newline + 1);
    }
    while (text.length > MAX_LINE) {
      this.#emit(stream, text.slice(0, MAX_LINE));
      text = text.slice(MAX_LINE);
    }
    this.#pending[stream] = text;
  }

  /** Logs what is left without a newline (at guest exit). */
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#pending[stream] + this.#decoders[stream].decode();
      this.#pending[stream] = "";
      if (rest !== "") this.#emit(stream, rest);
    }
  }

  #emit(stream: "stdout" | "stderr", line: string): void {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    for (let i = 0; i === 0 || i < text.length; i += MAX_LINE) {
      const part = text.slice(i, i + MAX_LINE);
      if (stream === "stdout") this.log.info("guest stdout", { line: part });
      else this.log.warn("guest stderr", { line: part });
    }
  }
}
