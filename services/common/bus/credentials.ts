/**
 * Who is calling: the bus's own record of a connection (`org.freedesktop.DBus.GetConnectionCredentials`),
 * never anything the caller says about itself. Cached per unique name; an entry is dropped when that name
 * leaves the bus (NameOwnerChanged with an empty new owner). Unique names are never reused on a bus, so a
 * cached entry can be stale only in memory, never wrong.
 */
import { closeFd } from "./libc.ts";
import type { Variant } from "dbus-next";

export interface CallerCredentials {
  /** The caller's unique connection name (`:1.42`). */
  uniqueName: string;
  uid: number;
  pid?: number;
  /**
   * A pidfd for the caller's process, when the daemon provides one (dbus ≥ 1.15.x; Debian 12's 1.14 does
   * not). Owned by the cache: valid until the caller leaves the bus or the connection closes; dup it
   * (`dupFd`) to keep it longer.
   */
  pidfd?: number;
  groupIds?: number[];
  /** LSM label (e.g. AppArmor/SELinux context), when the daemon reports one. */
  securityLabel?: string;
}

/** What the cache needs from a bus connection (kept narrow so the cache stays testable on its own). */
export interface CredentialsSource {
  call(
    request: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] },
  ): Promise<unknown[]>;
  /** Calls `listener` with the unique name of each connection that leaves the bus. */
  onPeerLeft(listener: (uniqueName: string) => void): Promise<{ close(): Promise<void> }>;
}

const DBUS = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" } as const;

export class CredentialsCache {
  readonly #source: CredentialsSource;
  readonly #entries = new Map<string, Promise<CallerCredentials>>();
  #watching: Promise<{ close(): Promise<void> }> | undefined;
  #closed = false;

  constructor(source: CredentialsSource) {
    this.#source = source;
  }

  /** Credentials of a connected unique name; rejects (e.g. NameHasNoOwner) when it is not on the bus. */
  get(uniqueName: string): Promise<CallerCredentials> {
    if (this.#closed) return Promise.reject(new Error("the credentials cache is closed"));
    const cached = this.#entries.get(uniqueName);
    if (cached !== undefined) return cached;
    const entry = this.#fetch(uniqueName);
    this.#entries.set(uniqueName, entry);
    entry.catch(() => {
      if (this.#entries.get(uniqueName) === entry) this.#entries.delete(uniqueName);
    });
    return entry;
  }

  /** True while an entry for this name is cached (for tests and diagnostics). */
  has(uniqueName: string): boolean {
    return this.#entries.has(uniqueName);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Drops every entry (closing pidfds) and stops watching the bus. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const name of [...this.#entries.keys()]) this.#forget(name);
    const watching = this.#watching;
    this.#watching = undefined;
    if (watching !== undefined) await (await watching.catch(() => undefined))?.close().catch(() => undefined);
  }

  async #fetch(uniqueName: string): Promise<CallerCredentials> {
    // The watch must be active before asking: a caller that leaves after our question is then always
    // followed by its NameOwnerChanged; one that left before makes the question fail.
    await this.#watch();
    const [raw] = await this.#source.call({ ...DBUS, member: "GetConnectionCredentials", signature: "s", body: [uniqueName] });
    const dict = (raw ?? {}) as Record<string, Variant>;
    const value = (key: string) => dict[key]?.value as unknown;
    const uid = value("UnixUserID");
    if (typeof uid !== "number") throw new Error(`the bus reported no UnixUserID for ${uniqueName}`);
    const credentials: CallerCredentials = { uniqueName, uid };
    const pid = value("ProcessID");
    if (typeof pid === "number") credentials.pid = pid;
    const pidfd = value("ProcessFD");
    if (typeof pidfd === "number") credentials.pidfd = pidfd;
    const groups = value("UnixGroupIDs");
    if (Array.isArray(groups)) credentials.groupIds = groups as number[];
    const label = value("LinuxSecurityLabel");
    if (label instanceof Uint8Array) credentials.securityLabel = Buffer.from(label).toString("utf8").replace(/\0+$/, "");
    // If the entry was forgotten while we were asking, #forget() has already arranged to close the pidfd.
    return credentials;
  }

  #watch(): Promise<unknown> {
    this.#watching ??= this.#source.onPeerLeft((uniqueName) => this.#forget(uniqueName));
    this.#watching.catch(() => (this.#watching = undefined));
    return this.#watching;
  }

  #forget(uniqueName: string): void {
    const entry = this.#entries.get(uniqueName);
    if (entry === undefined) return;
    this.#entries.delete(uniqueName);
    entry.then(
      (credentials) => {
        if (credentials.pidfd !== undefined) closeFd(credentials.pidfd);
      },
      () => undefined,
    );
  }
}
