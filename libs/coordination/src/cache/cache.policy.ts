import { Inject } from '@nestjs/common';
import { KeelDecoratorError } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type KeyBuilder,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import type { z } from 'zod';
import {
  cacheNeedsAsync,
  evictWithoutTarget,
  invalidCacheOptions,
} from '../coordination.messages.js';
import { CACHE_SCHEMAS, DEFAULTS } from '../coordination.settings.js';
import type {
  CacheEvictOptions,
  CachePutOptions,
  CachedOptions,
} from '../interfaces/coordination-options.interface.js';
import { entryKey, keyBuilder, tagsBuilder } from './cache-keys.js';
import { CacheRegistry } from './cache.registry.js';
import { inlineOptionProblems } from '../policy-options.js';
import type { EntryPolicy, TieredCache } from './tiered-cache.js';

/** What the interceptors of one cached method need. */
interface CachedSite {
  readonly engine: TieredCache;
  readonly keyOf: (args: readonly unknown[]) => string;
  readonly tagsOf: (args: readonly unknown[]) => readonly string[];
  readonly policy: EntryPolicy;
}

/** A cache decorator's options checked, and its method required to be async. */
function checkedOptions<T>(input: {
  readonly schema: z.ZodType;
  readonly options: T | undefined;
  readonly target: PolicyTarget;
  readonly decorator: string;
}): T {
  const { schema, options, target, decorator } = input;
  const problems = inlineOptionProblems(schema, options);
  if (problems.length > 0) {
    throw new KeelDecoratorError(invalidCacheOptions({ label: target.label, decorator, problems }));
  }
  if (!target.returnsPromise) {
    throw new KeelDecoratorError(cacheNeedsAsync({ label: target.label, decorator }));
  }
  return options ?? ({} as T);
}

function cachedSite(
  options: CachedOptions,
  target: PolicyTarget,
  registry: CacheRegistry,
  decorator: string,
): CachedSite {
  const name = options.name ?? target.label;
  registry.declare(name, options.store, target.label);
  const key: KeyBuilder = keyBuilder(options.key, target, `${decorator} key`);
  const defaults = DEFAULTS.policy.cached;
  void registry.start();
  return {
    engine: registry.engineFor(name),
    keyOf: (args) => entryKey(name, key(args)),
    tagsOf: tagsBuilder(options.tags, target, `${decorator} tags`),
    policy: {
      ttlMs: options.ttlMs ?? defaults.ttlMs,
      staleWhileRevalidateMs: options.staleWhileRevalidateMs ?? defaults.staleWhileRevalidateMs,
      cacheNull: options.cacheNull ?? defaults.cacheNull,
      tags: [],
      counts: registry.counts(name),
    },
  };
}

function withTags(site: CachedSite, args: readonly unknown[]): EntryPolicy {
  const tags = site.tagsOf(args);
  return tags.length === 0 ? site.policy : { ...site.policy, tags };
}

/** Builds `@Cached` interceptors. @internal */
@PolicyFactoryFor('cached')
export class CachedPolicyFactory implements PolicyFactory<CachedOptions | undefined> {
  constructor(@Inject(CacheRegistry) private readonly registry: CacheRegistry) {}

  create(ref: CachedOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const decorator = '@Cached';
    const options = checkedOptions({
      schema: CACHE_SCHEMAS.cached,
      options: ref,
      target,
      decorator,
    });
    const site = cachedSite(options, target, this.registry, decorator);
    const engine = site.engine;
    const counts = site.policy.counts;
    return (invocation: Invocation, next: Next) => {
      let key: string;
      try {
        key = site.keyOf(invocation.args);
      } catch (error) {
        return Promise.reject(error as Error);
      }
      // A fresh in-process hit answers without building the entry's tags or a closure.
      const fresh = engine.peekFresh(key, counts);
      if (fresh !== undefined) return Promise.resolve(fresh.value);
      return engine.wrap(
        key,
        () => next(invocation) as Promise<unknown>,
        withTags(site, invocation.args),
      );
    };
  }
}

/** Builds `@CachePut` interceptors: the method runs, its result replaces the entry. @internal */
@PolicyFactoryFor('cache-put')
export class CachePutPolicyFactory implements PolicyFactory<CachePutOptions | undefined> {
  constructor(@Inject(CacheRegistry) private readonly registry: CacheRegistry) {}

  create(ref: CachePutOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const decorator = '@CachePut';
    const options = checkedOptions({
      schema: CACHE_SCHEMAS.cachePut,
      options: ref,
      target,
      decorator,
    });
    const site = cachedSite(options, target, this.registry, decorator);
    const engine = site.engine;
    return async (invocation: Invocation, next: Next) => {
      const value = await (next(invocation) as Promise<unknown>);
      await engine.set(site.keyOf(invocation.args), value, withTags(site, invocation.args));
      return value;
    };
  }
}

/** Builds `@CacheEvict` interceptors. @internal */
@PolicyFactoryFor('cache-evict')
export class CacheEvictPolicyFactory implements PolicyFactory<CacheEvictOptions | undefined> {
  constructor(@Inject(CacheRegistry) private readonly registry: CacheRegistry) {}

  create(ref: CacheEvictOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const decorator = '@CacheEvict';
    const options = checkedOptions({
      schema: CACHE_SCHEMAS.cacheEvict,
      options: ref,
      target,
      decorator,
    });
    if (options.name === undefined && (options.tags ?? []).length === 0) {
      throw new KeelDecoratorError(evictWithoutTarget({ label: target.label }));
    }
    void this.registry.start();
    const evict = evictor(options, target, this.registry);
    const before = options.beforeInvocation ?? DEFAULTS.policy.cacheEvict.beforeInvocation;
    return async (invocation: Invocation, next: Next) => {
      if (before) await evict(invocation.args);
      const value = await (next(invocation) as Promise<unknown>);
      if (!before) await evict(invocation.args);
      return value;
    };
  }
}

function evictor(
  options: CacheEvictOptions,
  target: PolicyTarget,
  registry: CacheRegistry,
): (args: readonly unknown[]) => Promise<void> {
  const { name } = options;
  const key = name === undefined ? undefined : keyBuilder(options.key, target, '@CacheEvict key');
  const tagsOf = tagsBuilder(options.tags, target, '@CacheEvict tags');
  return async (args) => {
    const tags = tagsOf(args);
    const evictions: Promise<void>[] = [];
    // Looked up per call: the @Cached that declares the name may be built after this method.
    if (name !== undefined && key !== undefined)
      evictions.push(registry.engineFor(name).evict([entryKey(name, key(args))]));
    if (tags.length > 0)
      for (const engine of registry.engines()) evictions.push(engine.evictTags(tags));
    await Promise.all(evictions);
  };
}
