import { afterEach, beforeEach, describe } from '@jest/globals';

/** One implementation of a store, as the contract suite sees it. */
export interface StoreImplementation<S> {
  /** Shown in test names: `memory`, `redis`, `quorum`. */
  readonly name: string;
  /** Creates a fresh, isolated store (unique key prefix) for one test. */
  create(): S | Promise<S>;
  /** Releases what `create` opened (connections, timers). */
  destroy?(store: S): void | Promise<void>;
}

/**
 * Runs one contract suite against every implementation of a store interface, so the embedded
 * memory store and the Redis stores are held to exactly the same behaviour.
 *
 * @example
 * ```ts
 * describeStoreContract('BreakerStore', [memoryImpl, redisImpl], (store) => {
 *   it('starts closed', async () => expect(await store().state('b')).toBe('closed'));
 * });
 * ```
 */
export function describeStoreContract<S>(
  contract: string,
  implementations: readonly StoreImplementation<S>[],
  suite: (store: () => S, implementation: StoreImplementation<S>) => void,
): void {
  for (const implementation of implementations) {
    describe(`${contract} contract [${implementation.name}]`, () => {
      let current: S | undefined;
      beforeEach(async () => {
        current = await implementation.create();
      });
      afterEach(async () => {
        if (current !== undefined) await implementation.destroy?.(current);
        current = undefined;
      });
      suite(() => {
        if (current === undefined) throw new Error(`${implementation.name} store not created`);
        return current;
      }, implementation);
    });
  }
}
