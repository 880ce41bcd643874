import { Inject } from '@nestjs/common';
import type { GcraDecision, GcraParams } from '../gcra.js';

/** One decision asked of a {@link RateLimitStore}. @internal */
export interface RateLimitRequest extends GcraParams {
  /** The bucket: limit name and, for keyed limits, the key (already escaped). */
  readonly bucket: string;
  /** Longest wait the call accepts for a later turn; 0 in `reject` mode. */
  readonly maxWaitUs: number;
}

/**
 * Where fleet-wide rate limits keep their buckets, so every replica of the service counts
 * against one limit. One call is one decision (one Redis round trip). Interface and DI token
 * share the name (throttler's pattern).
 * @internal
 */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Decides one call and, when allowed, spends its turn. */
  take(request: RateLimitRequest): Promise<GcraDecision>;
}

/** DI token of the {@link RateLimitStore}. @internal */
export const RateLimitStore = Symbol('RateLimitStore');

/** Injects the {@link RateLimitStore}. @internal */
export const InjectRateLimitStore = (): ParameterDecorator => Inject(RateLimitStore);
