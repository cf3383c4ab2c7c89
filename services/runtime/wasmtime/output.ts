/**
 * A guest's stdout and stderr: one pipe each, read on the main thread.
 *
 * Why pipes and not wasi_config_set_stdout_custom: Wasmtime 48's C API wraps a custom callback in an async
 * writer whose writes run on a Tokio worker thread, not the guest's thread, so a bun:ffi JSCallback would be
 * entered from a foreign thread. A file-backed WASI stdout instead writes synchronously on the guest thread
 * (wasmtime-wasi's OutputFile), so the worker opens the pipe's write end by path
 * (wasi_config_set_stdout_file("/proc/self/fd/<n>")) and the guest's writes go straight into the kernel pipe;
 * the main thread reads them as they come. A full pipe (64 KiB unread) blocks the guest: back-pressure, not
 * loss.
 *
 *   main: pipe2 → [read, write] ── path of write end ──▶ worker: opens its own write fd (WASI stdout)
 *   main: closes its write end once the worker is ready (or failed)
 *   guest writes ──▶ kernel pipe ──▶ main: Bun stream → onOutput(stream, bytes)
 *   store deleted ──▶ last write fd closed ──▶ EOF ──▶ `drained` resolves (before `exited` does)
 */

import { closeFd, makePipe } from "../../common/bus/libc.ts";

export type OutputStreamName = "stdout" | "stderr";

/** How long an exit waits for the rest of the output before giving up on it. */
const DRAIN_TIMEOUT_MS = 2000;

class OutputPipe {
  readonly path: string;
  readonly drained: Promise<void>;
  private writeEnd: number | undefined;
  private reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> } | undefined;

  constructor(name: OutputStreamName, onOutput: (stream: OutputStreamName, bytes: Uint8Array) => void) {
    const [readEnd, writeEnd] = makePipe();
    this.writeEnd = writeEnd;
    this.path = `/proc/self/fd/${writeEnd}`;
    this.reader = Bun.file(readEnd).stream().getReader();
    this.drained = this.pump(name, readEnd, onOutput);
  }

  private async pump(name: OutputStreamName, readEnd: number, onOutput: (stream: OutputStreamName, bytes: Uint8Array) => void): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.reader!.read();
        if (chunk.done || chunk.value === undefined) return;
        try {
          onOutput(name, chunk.value);
        } catch {
          // A failing sink must not stop the guest or lose the other stream; the caller owns its logging.
        }
      }
    } catch {
      // Cancelled (abort) or the descriptor went away: nothing more to read either way.
    } finally {
      this.reader = undefined;
      closeFd(readEnd);
    }
  }

  closeWriteEnd(): void {
    if (this.writeEnd === undefined) return;
    closeFd(this.writeEnd);
    this.writeEnd = undefined;
  }

  abort(): void {
    this.closeWriteEnd();
    void this.reader?.cancel().catch(() => {});
  }
}

/** The two output pipes of one guest. */
export class GuestOutput {
  private readonly stdout: OutputPipe;
  private readonly stderr: OutputPipe;

  constructor(onOutput: (stream: OutputStreamName, bytes: Uint8Array) => void) {
    this.stdout = new OutputPipe("stdout", onOutput);
    this.stderr = new OutputPipe("stderr", onOutput);
  }

  /** Paths the worker opens as the guest's stdout and stderr. */
  get paths(): { stdout: string; stderr: string } {
    return { stdout: this.stdout.path, stderr: this.stderr.path };
  }

  /** Once the worker holds its own write ends: from then on, EOF means the guest's store is gone. */
  closeWriteEnds(): void {
    this.stdout.closeWriteEnd();
    this.stderr.closeWriteEnd();
  }

  /** Resolves when both pipes reached EOF, or after DRAIN_TIMEOUT_MS (then stops reading). */
  async drain(): Promise<void> {
    this.closeWriteEnds();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), DRAIN_TIMEOUT_MS)));
    const outcome = await Promise.race([Promise.all([this.stdout.drained, this.stderr.drained]), timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") this.abort();
  }

  /** Stops reading now (the worker was ended without freeing its store). */
  abort(): void {
    this.stdout.abort();
    this.stderr.abort();
  }
}
