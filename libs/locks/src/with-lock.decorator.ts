import { type KeyTemplate } from '@keel/core';
import { createPolicyDecorator } from '@keel/core/internal';
import type { AcquireOptions } from './interfaces/locks-options.interface.js';

/** Options of {@link WithLock}. @publicApi */
export type WithLockOptions = Omit<AcquireOptions, 'abortSignal'>;

/** What `@WithLock` records on the method. @internal */
export interface WithLockDeclaration extends WithLockOptions {
  readonly key: KeyTemplate;
}

/**
 * Runs the method holding a distributed lock on a key built from its arguments, released on
 * every path and renewed while the method runs. Works on controller handlers (HTTP, microservice)
 * and provider methods; the method reads its lock with `currentLock()`. The method's result
 * becomes a promise. A key template naming an unknown parameter stops the application at start.
 *
 * In the pipeline the lock sits inside `@Bulkhead` (hold a lock only while actually running) and
 * outside `@Idempotent` (duplicates are detected under the lock).
 *
 * @param key `'order:{orderId}'` (a parameter), `'{dto.id}'` (a path into one), `'{0}'` (a
 *   position), or a function of the arguments. Placeholder values are escaped.
 * @example
 * ```ts
 * @Post(':orderId/ship')
 * @WithLock('order:{orderId}', { waitMs: 2_000 })
 * async ship(@Param('orderId') orderId: string) {
 *   const { fencingToken } = currentLock()!;
 *   ...
 * }
 * ```
 * @publicApi
 */
export function WithLock(key: KeyTemplate, options: WithLockOptions = {}): MethodDecorator {
  return createPolicyDecorator<WithLockDeclaration>('lock', { ...options, key });
}
