// Captured before any test can install fake timers: a test that freezes timers (to prove that
// something happens without one firing) still waits in real time here.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** @default 10000 */
  timeoutMs?: number;
  /** Pause between checks. @default 25 */
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  message?: string;
}

/**
 * Re-checks `condition` until it returns a truthy value and resolves with that value. A check
 * that throws counts as "not yet"; its error is quoted if the wait times out.
 *
 * @throws Error after `timeoutMs` without a truthy result.
 * @example await waitFor(() => received.length >= 3, { message: 'three messages' });
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, message = 'condition' }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await new Promise((resolve) => realSetTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves with `promise`, or rejects after `timeoutMs` of real time (even while the test has
 * frozen timers) with an error saying what did not happen.
 */
export function settlesWithin<T>(
  promise: Promise<T>,
  timeoutMs: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = realSetTimeout(
        () => reject(new Error(`${message} did not happen within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => realClearTimeout(timer));
}
