import { createPolicyDecorator } from '@keel/core/internal';
import type {
  CacheEvictOptions,
  CachePutOptions,
  CachedOptions,
} from '../interfaces/coordination-options.interface.js';

/**
 * Caches the method's result: in process (an LRU in front) and in Redis when `KeelCoreModule`
 * has it (the embedded store otherwise), shared by every replica. A miss is computed once per
 * fleet however many callers ask at once; a stale value can be served while one caller refreshes
 * it (`staleWhileRevalidateMs`); a write or eviction anywhere drops every replica's in-process
 * copy. When Redis is unreachable the method simply runs: the cache never fails a call. Values
 * keep `Date`, `Map`, `Set`, `BigInt` and registered classes. The method must be `async`.
 * Treat a cached value as immutable: callers share it.
 *
 * @example
 * ```ts
 * @Cached({ name: 'order', key: '{id}', ttlMs: 30_000, tags: ['customer:{customerId}'] })
 * async findOrder(id: string, customerId: string): Promise<Order> { ... }
 * ```
 * @publicApi
 */
export function Cached(options?: CachedOptions): MethodDecorator {
  return createPolicyDecorator('cached', options);
}

/**
 * Runs the method and stores its result as the entry `name` + `key` (the `@Cached` that reads
 * it names the same cache), dropping every replica's in-process copy.
 *
 * @example
 * ```ts
 * @CachePut({ name: 'order', key: '{dto.id}' })
 * async updateOrder(dto: UpdateOrder): Promise<Order> { ... }
 * ```
 * @publicApi
 */
export function CachePut(options: CachePutOptions): MethodDecorator {
  return createPolicyDecorator('cache-put', options);
}

/**
 * After the method succeeds (or before it runs, with `beforeInvocation`), drops the entry
 * `name` + `key` and every entry with one of `tags`, in the whole fleet.
 *
 * @example
 * ```ts
 * @CacheEvict({ name: 'order', key: '{id}', tags: ['customer:{customerId}'] })
 * async cancelOrder(id: string, customerId: string): Promise<void> { ... }
 * ```
 * @publicApi
 */
export function CacheEvict(options: CacheEvictOptions): MethodDecorator {
  return createPolicyDecorator('cache-evict', options);
}
