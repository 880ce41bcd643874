import { Injectable } from '@nestjs/common';
import type { AnyRateLimiter } from './rate-limiter.js';

/** A rate limit as the health indicator and metrics see it. @internal */
export interface RateLimitStatus {
  readonly name: string;
  readonly scope: 'process' | 'fleet';
  /** False while a fleet limit decides on its insurance share (Redis unreachable). */
  readonly available: boolean;
  readonly lastError?: string;
}

/**
 * Every rate limit of the application, by name: the policy factory registers them at bootstrap,
 * the health indicator and the metrics read them.
 * @internal
 */
@Injectable()
export class RateLimiterRegistry {
  private readonly limiters = new Map<
    string,
    { limiter: AnyRateLimiter; site: string; fingerprint: string }
  >();

  get(name: string): { limiter: AnyRateLimiter; site: string; fingerprint: string } | undefined {
    return this.limiters.get(name);
  }

  add(entry: { limiter: AnyRateLimiter; site: string; fingerprint: string }): void {
    this.limiters.set(entry.limiter.settings.name, entry);
  }

  list(): AnyRateLimiter[] {
    return [...this.limiters.values()].map((entry) => entry.limiter);
  }

  status(): RateLimitStatus[] {
    return this.list().map((limiter) => ({
      name: limiter.settings.name,
      scope: limiter.settings.scope,
      available: limiter.available,
      ...('lastError' in limiter && !limiter.available && limiter.lastError !== undefined
        ? { lastError: limiter.lastError }
        : {}),
    }));
  }
}
