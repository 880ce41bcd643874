import { KeelDeadlineError } from '../core.errors.js';
import { noAnswerWithin } from '../core.messages.js';

/**
 * Settles like `work`, or rejects with {@link KeelDeadlineError} (or the error `onTimeout`
 * makes) once `ms` have passed, whichever comes first. The timer is cleared as soon as `work`
 * settles, so nothing keeps the process alive; a late rejection of `work` is observed by the
 * race, so it never surfaces as an unhandled rejection.
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
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
