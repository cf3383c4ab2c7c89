/**
 * Who owns a well-known bus name right now, asked of the bus (GetNameOwner) and cached until the bus says it
 * changed (NameOwnerChanged). The portal's authority checks rest on this: appd is whoever owns
 * org.weft.AppD1, session N's runtime whoever owns org.weft.Runtime1.S<N>, compared with the caller's unique
 * name as the bus stamped it on the call.
 *
 * Ordering: a change signal is handled synchronously when its message arrives, while a GetNameOwner reply
 * resumes its awaiter later (a microtask). So a signal can be handled between a reply's arrival and the
 * code that reads it; an answer is therefore cached only if no change signal at all was handled while its
 * query was out, and otherwise asked again. Once cached, an entry is exactly as fresh as the last signal.
 */

import type { BusConnection, Subscription } from "../common/bus/index.ts";
import { isBusError } from "../common/bus/index.ts";

const RETRIES = 4;

export type OwnerChangeListener = (name: string, oldOwner: string, newOwner: string) => void;

export class NameOwners {
  readonly #bus: BusConnection;
  readonly #owners = new Map<string, string>();
  readonly #listeners: OwnerChangeListener[] = [];
  #subscription: Subscription | undefined;
  /** Counts every change signal handled: a query that saw it move cannot trust its answer. */
  #changes = 0;

  private constructor(bus: BusConnection) {
    this.#bus = bus;
  }

  /** Subscribes to NameOwnerChanged first, so no change after a query goes unseen. */
  static async watch(bus: BusConnection): Promise<NameOwners> {
    const owners = new NameOwners(bus);
    owners.#subscription = await bus.subscribeSignal(
      { sender: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged" },
      (body) => {
        const [name, oldOwner, newOwner] = body as [string, string, string];
        owners.#changed(name, oldOwner, newOwner);
      },
    );
    return owners;
  }

  /** Called for every ownership change of a well-known name. */
  onChange(listener: OwnerChangeListener): void {
    this.#listeners.push(listener);
  }

  /** True when `uniqueName` owns `name` now. */
  async isOwner(name: string, uniqueName: string): Promise<boolean> {
    return (await this.ownerOf(name)) === uniqueName;
  }

  /** The unique name owning `name`, or undefined when nobody does. */
  async ownerOf(name: string): Promise<string | undefined> {
    let owner: string | undefined;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const cached = this.#owners.get(name);
      if (cached !== undefined) return cached;
      const changesBefore = this.#changes;
      owner = await this.#query(name);
      if (this.#changes === changesBefore) {
        if (owner !== undefined) this.#owners.set(name, owner);
        return owner;
      }
    }
    return owner; // a very busy bus: the last answer, a query's length old, uncached
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
    this.#subscription = undefined;
    this.#owners.clear();
  }

  #changed(name: string, oldOwner: string, newOwner: string): void {
    if (name.startsWith(":")) return; // unique names come and go; they are never asked about
    this.#changes++;
    if (this.#owners.has(name)) {
      if (newOwner === "") this.#owners.delete(name);
      else this.#owners.set(name, newOwner);
    }
    for (const listener of this.#listeners) listener(name, oldOwner, newOwner);
  }

  async #query(name: string): Promise<string | undefined> {
    try {
      const [owner] = await this.#bus.call({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "GetNameOwner",
        signature: "s",
        body: [name],
      });
      return owner as string;
    } catch (error) {
      if (isBusError(error, "org.freedesktop.DBus.Error.NameHasNoOwner")) return undefined;
      throw error;
    }
  }
}
