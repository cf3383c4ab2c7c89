/**
 * The one way tests wait for something: poll `read` against a deadline, never a fixed sleep. `read` returns the
 * value waited for, or undefined / false / null while it is not there yet (a read that throws counts as not yet:
 * a name not on the bus, a file not written). Resolves with the value; rejects naming `what` when time runs out.
 */
export async function until<T>(
  read: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | false | null;
    try {
      value = await read();
    } catch {
      value = undefined;
    }
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}
