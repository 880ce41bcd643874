import { KeelDeadlineError } from '../core.errors.js';
import { noAnswerWithin } from '../core.messages.js';

/**
 * Settles like `work`, or rejects with {@link KeelDeadlineError} (or the error `onTimeout`
 * makes) once `ms` have passed, whichever comes first. The timer is cleared as soon as `work`
 * settles, so nothing keeps the process alive; a late rejection of `work` is observed here, so
 * it never surfaces as an unhandled rejection.
 *
 * `work` itself is not cancelled (a promise cannot be): pass an AbortSignal to the work where
 * it can stop early.
 *
 * @example
 * ```ts
 * // Rejects with KeelDeadlineError when Redis has not answered within 500 ms.
 * const reply = await withDeadline(redis.ping(), 500);
 * ```
 * @internal
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error = () => new KeelDeadlineError(noAnswerWithin({ ms })),
): Promise<T> {
  // One promise and one handler pair: `Promise.race` with a deadline promise and a `finally`
  // would allocate three promises per call on paths that run once per Redis command.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
