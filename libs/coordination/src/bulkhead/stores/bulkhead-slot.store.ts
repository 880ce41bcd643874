import { Inject } from '@nestjs/common';

/** One slot request of a fleet bulkhead. @internal */
export interface SlotRequest {
  /** The bulkhead's name. */
  readonly name: string;
  /** Who holds the slot when granted (random per call). */
  readonly holder: string;
  /** Slots the whole fleet may hold at once. */
  readonly limit: number;
  /** The slot is freed after this long unless renewed (a crashed holder frees its slot). */
  readonly leaseMs: number;
}

/**
 * Where fleet bulkheads keep their slots: leases that every replica of the service counts
 * against one limit. Interface and DI token share the name (throttler's pattern).
 * @internal
 */
export interface BulkheadSlotStore {
  readonly kind: 'memory' | 'redis';
  /** Takes a slot for `holder` when fewer than `limit` unexpired leases exist; false otherwise. */
  acquire(request: SlotRequest): Promise<boolean>;
  /** Extends the leases of `holders` by `leaseMs` from now (holders no longer there stay gone). */
  renew(request: {
    readonly name: string;
    readonly holders: readonly string[];
    readonly leaseMs: number;
  }): Promise<void>;
  /** Frees `holder`'s slot. */
  release(name: string, holder: string): Promise<void>;
}

/** DI token of the {@link BulkheadSlotStore}. @internal */
export const BulkheadSlotStore = Symbol('BulkheadSlotStore');

/** Injects the {@link BulkheadSlotStore}. @internal */
export const InjectBulkheadSlotStore = (): ParameterDecorator => Inject(BulkheadSlotStore);
