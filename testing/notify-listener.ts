/**
 * Test helper: a datagram socket standing in for systemd's notification socket, so tests can see what a
 * service sends through sd_notify. Polls with MSG_DONTWAIT so the test's event loop keeps running.
 */

import { errno, libcCalls as libc, SystemError } from "../services/common/os/libc.ts";
import { unixAddress } from "../services/common/daemon/sd-notify.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;


export class NotifyListener {
  readonly #fd: number;
  readonly received: string[] = [];

  constructor(readonly address: string) {
    const target = unixAddress(address);
    this.#fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (this.#fd < 0) throw new SystemError("socket", errno());
    if (libc.bind(this.#fd, target.bytes, target.length) < 0) {
      const code = errno();
      libc.close(this.#fd);
      throw new SystemError("bind", code, address);
    }
  }

  /** Reads every datagram waiting now. */
  drain(): string[] {
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = libc.recv(this.#fd, buffer, buffer.length, MSG_DONTWAIT);
      if (n < 0) {
        if (errno() === EAGAIN) return this.received;
        throw new SystemError("recv", errno());
      }
      this.received.push(Buffer.from(buffer.subarray(0, Number(n))).toString("utf8"));
    }
  }

  /** Waits until a datagram equal to `message` has arrived. */
  async waitFor(message: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.drain().includes(message)) {
      if (Date.now() > deadline) throw new Error(`no ${message} on ${this.address} within ${timeoutMs} ms (got ${JSON.stringify(this.received)})`);
      await Bun.sleep(20);
    }
  }

  close(): void {
    libc.close(this.#fd);
  }
}
