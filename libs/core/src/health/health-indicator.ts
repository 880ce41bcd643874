import { Injectable, applyDecorators } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

/** Result of one Keel health check. @publicApi */
export interface KeelHealthReport {
  /**
   * `up`; `degraded` (serving, but on a fallback: a breaker open, a stale cache, Redis lost);
   * or `down` (not ready to serve).
   */
  readonly status: 'up' | 'degraded' | 'down';
  /** Extra facts for operators. Never secrets, URLs with credentials or connection strings. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A readiness check a Keel module contributes. Mark the provider with
 * {@link KeelHealthIndicator}; `@keel/health` finds every such provider in the application and
 * aggregates them into `/health/ready`.
 * @publicApi
 */
export interface KeelHealthCheck {
  check(): Promise<KeelHealthReport>;
}

/** Options of {@link KeelHealthIndicator}. @publicApi */
export interface KeelHealthIndicatorOptions {
  /** Key of the check in health output, e.g. `redis` or `breakers`. */
  readonly key: string;
}

/**
 * The discoverable decorator behind {@link KeelHealthIndicator}: Nest's `DiscoveryService`
 * indexes the classes it marks, so `@keel/health` asks for them by key
 * (`getProviders({ metadataKey: KEEL_HEALTH_INDICATOR.KEY })`) instead of reading the metadata
 * of every provider.
 * @internal
 */
export const KEEL_HEALTH_INDICATOR = DiscoveryService.createDecorator<KeelHealthIndicatorOptions>();

/**
 * Marks an injectable class implementing {@link KeelHealthCheck} as a readiness indicator.
 * Nest has no multi-providers; discovery gives the same effect: every module adds its own. The
 * decorated class itself is found, not a subclass of it: decorate a subclass too.
 * @publicApi
 */
export function KeelHealthIndicator(options: KeelHealthIndicatorOptions): ClassDecorator {
  return applyDecorators(Injectable(), KEEL_HEALTH_INDICATOR(options));
}
