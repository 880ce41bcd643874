import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { RateLimiterRegistry } from './rate-limiter.registry.js';

/**
 * Readiness of the rate limits: `degraded` while any fleet limit cannot reach Redis and decides
 * on its per-process insurance limit (calls still run, within that share); `up` otherwise. Never
 * `down`: a rate limit that lost its store still limits.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'rateLimits' })
export class RateLimitHealthIndicator implements KeelHealthCheck {
  constructor(@Inject(RateLimiterRegistry) private readonly registry: RateLimiterRegistry) {}

  check(): Promise<KeelHealthReport> {
    const limits: Record<string, { scope: string; available: boolean; lastError?: string }> = {};
    let degraded = false;
    for (const { name, ...status } of this.registry.status()) {
      limits[name] = status;
      if (!status.available) degraded = true;
    }
    return Promise.resolve({ status: degraded ? 'degraded' : 'up', details: { limits } });
  }
}
