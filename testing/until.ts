/**
 * The one way tests wait for something: poll `read` against a deadline, never a fixed sleep. `read` returns the
 * value waited for, or undefined / false / null while it is not there yet. Resolves with the value; rejects
 * naming `what` when time runs out. A `read` that throws fails the wait at once (a probe that exited, a service
 * that died), unless `retryErrors` says an error only means "not yet" (an element not on a page yet).
 */
export async function until<T>(
  read: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 30_000,
  options: { everyMs?: number; retryErrors?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | false | null;
    try {
      value = await read();
    } catch (error) {
      if (!options.retryErrors) throw error;
      value = undefined;
    }
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(options.everyMs ?? 10);
  }
}
