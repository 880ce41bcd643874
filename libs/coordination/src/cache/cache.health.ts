import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { CacheService } from './cache.service.js';
import { CacheRegistry } from './cache.registry.js';

/**
 * Readiness of the cache: `degraded` while its store is unreachable (cached methods run
 * uncached) or invalidations do not reach this process (the in-process tier is off); `up`
 * otherwise. Never `down`: without its cache a service is slower, not broken.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'cache' })
export class CacheHealthIndicator implements KeelHealthCheck {
  constructor(
    @Inject(CacheService) private readonly cache: CacheService,
    @Inject(CacheRegistry) private readonly registry: CacheRegistry,
  ) {}

  check(): Promise<KeelHealthReport> {
    if (!this.registry.inUse) return Promise.resolve({ status: 'up', details: { inUse: false } });
    const status = this.cache.status();
    const degraded = !status.available || !status.localTier;
    return Promise.resolve({ status: degraded ? 'degraded' : 'up', details: { ...status } });
  }
}
