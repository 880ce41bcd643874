import { RedisScript, type KeelRedisClient } from '@keel/core';
import type { ParkedPosition, ParkingStore } from './parking.store.js';
import {
  JOIN_IF_PARKED_SCRIPT,
  LEAVE_SCRIPT,
  PARK_SCRIPT,
  POSITION_SCRIPT,
} from './redis-parking.lua.js';

const joinScript = new RedisScript<number>(JOIN_IF_PARKED_SCRIPT);
const parkScript = new RedisScript<number>(PARK_SCRIPT);
const positionScript = new RedisScript<[number, number]>(POSITION_SCRIPT);
const leaveScript = new RedisScript<number>(LEAVE_SCRIPT);

/**
 * Parked keys in Redis, shared by the fleet: the main consumer of a partition and the retry
 * consumer of its retry partition may be different replicas. One script call per operation.
 * @internal
 */
export class RedisParkingStore implements ParkingStore {
  readonly kind = 'redis';
  private readonly client: KeelRedisClient;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly parked = new Set<string>();

  constructor(options: {
    readonly client: KeelRedisClient;
    /** Core's `redisKeyPrefix` followed by the store's own. */
    readonly prefix: string;
    /** How long an untouched slot lives. */
    readonly ttlMs: number;
  }) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.ttlMs = options.ttlMs;
  }

  async joinIfParked(slot: string, position: number): Promise<boolean> {
    return (await joinScript.run(this.client, 1, this.key(slot), position, this.ttlMs)) === 1;
  }

  async park(slot: string, position: number): Promise<void> {
    await parkScript.run(this.client, 1, this.key(slot), position, this.ttlMs);
    this.parked.add(slot);
  }

  async position(slot: string, position: number): Promise<ParkedPosition> {
    const [queued, head] = await positionScript.run(this.client, 1, this.key(slot), position);
    return { queued: queued === 1, head: head === 1 };
  }

  async leave(slot: string, position: number): Promise<void> {
    const left = await leaveScript.run(this.client, 1, this.key(slot), position, this.ttlMs);
    if (left === 0) this.parked.delete(slot);
  }

  /** The slots this process parked and has not seen freed. */
  async parkedCount(): Promise<number> {
    return this.parked.size;
  }

  private key(slot: string): string {
    return `${this.prefix}${slot.replace('\u0000', ':')}`;
  }
}
