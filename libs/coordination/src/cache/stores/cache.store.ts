import { Inject } from '@nestjs/common';

/** A cached value as the shared tier holds it. @internal */
export interface StoredEntry {
  /** The value, encoded by the cache's codec. */
  readonly payload: string;
  /** Epoch ms after which the value is stale. */
  readonly expiresAt: number;
  /** Epoch ms after which the value is gone (`expiresAt` + the stale-while-revalidate window). */
  readonly staleUntil: number;
}

/** A change another replica must apply to its in-process tier. @internal */
export type CacheInvalidation =
  | { readonly origin: string; readonly keys: readonly string[] }
  | { readonly origin: string; readonly flush: true };

/** How the shared tier tells a cache whether invalidations reach it. @internal */
export interface InvalidationListener {
  /** A change made by another replica (or this one: compare `origin`). */
  message(invalidation: CacheInvalidation): void;
  /**
   * The invalidation feed is (`true`) or is not (`false`) delivering. While it is not, the
   * in-process tier cannot know what other replicas changed and must not be served.
   */
  feed(live: boolean): void;
}

/**
 * The shared tier of `@Cached`: Redis for a fleet, an in-process map for the embedded default.
 * Values are encoded strings, so both stores hold exactly what the codec made. Interface and DI
 * token share the name (throttler's pattern).
 * @internal
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<StoredEntry | undefined>;
  /** Stores `entry` under `key`, adds the key to each tag, and frees the key's fill lease. */
  set(key: string, entry: StoredEntry, tags: readonly string[]): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** The keys of every tag in `tags`, and forgets the tags. */
  takeTagged(tags: readonly string[]): Promise<string[]>;
  /** Takes the fill lease of `key` for `ms` unless someone holds it: one replica fills a miss. */
  tryLease(key: string, holder: string, ms: number): Promise<boolean>;
  /** Frees the fill lease if `holder` still holds it. */
  releaseLease(key: string, holder: string): Promise<void>;
  /** Sends an invalidation to every replica's listener. */
  publish(invalidation: CacheInvalidation): Promise<void>;
  /** Starts delivering invalidations to `listener`. */
  listen(listener: InvalidationListener): Promise<void>;
  close(): Promise<void>;
}

/** DI token of the {@link CacheStore}. @internal */
export const CacheStore = Symbol('CacheStore');

/** Injects the {@link CacheStore}. @internal */
export const InjectCacheStore = (): ParameterDecorator => Inject(CacheStore);
