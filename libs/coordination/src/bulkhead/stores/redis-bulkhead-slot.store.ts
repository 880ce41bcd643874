import { RedisScript, type KeelRedisClient } from '@keel/core';
import type { BulkheadSlotStore, SlotRequest } from './bulkhead-slot.store.js';
import { ACQUIRE_SLOT_SCRIPT, RENEW_SLOTS_SCRIPT } from './redis-bulkhead-slot.lua.js';

const ACQUIRE = new RedisScript<number>(ACQUIRE_SLOT_SCRIPT);
const RENEW = new RedisScript<number>(RENEW_SLOTS_SCRIPT);

/** Options of {@link RedisBulkheadSlotStore}. @internal */
export interface RedisBulkheadSlotStoreOptions {
  readonly client: KeelRedisClient;
  readonly keyPrefix: string;
  readonly serviceName: string;
}

/** Fleet bulkhead slots in Redis: one sorted set of leases per bulkhead. @internal */
export class RedisBulkheadSlotStore implements BulkheadSlotStore {
  readonly kind = 'redis';

  constructor(private readonly options: RedisBulkheadSlotStoreOptions) {}

  async acquire(request: SlotRequest): Promise<boolean> {
    const { client } = this.options;
    const { name, limit, holder, leaseMs } = request;
    return (await ACQUIRE.run(client, 1, this.key(name), limit, holder, leaseMs)) === 1;
  }

  async renew(request: {
    readonly name: string;
    readonly holders: readonly string[];
    readonly leaseMs: number;
  }): Promise<void> {
    if (request.holders.length === 0) return;
    const key = this.key(request.name);
    await RENEW.run(this.options.client, 1, key, request.leaseMs, ...request.holders);
  }

  async release(name: string, holder: string): Promise<void> {
    await this.options.client.zrem(this.key(name), holder);
  }

  // One hash tag per bulkhead: the key of a bulkhead lands on one Cluster slot.
  private key(name: string): string {
    return `${this.options.keyPrefix}bulkhead:{${this.options.serviceName}:${name}}`;
  }
}
