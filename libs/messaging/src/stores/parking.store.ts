import { Inject } from '@nestjs/common';

/** Where a record of a parked key stands in its key's queue. @internal */
export interface ParkedPosition {
  /** False once the record has left the queue (processed or dead-lettered): a stale copy. */
  readonly queued: boolean;
  /** True when it is the oldest record of its key still queued: the one allowed to run. */
  readonly head: boolean;
}

/**
 * Which keys are parked, and in what order their records must run: per `(topic, group, key)`
 * slot, the queue of the key's records in the retry pipeline, by their offset in the original
 * partition (a key lives in one partition, so offsets order its records). A key is parked
 * while its queue is not empty: the main consumer then sends the key's later records to the
 * retry topic behind it. On the retry topic, only the head of a queue runs; any other record of
 * the key goes behind again, and a copy whose record already left the queue (a redelivery) is
 * skipped — so neither duplicated copies nor a rebalance can reorder a key.
 * @internal
 */
export interface ParkingStore {
  readonly kind: 'memory' | 'redis';
  /** Atomically: if the slot's queue is not empty, adds `position` to it and returns true. */
  joinIfParked(slot: string, position: number): Promise<boolean>;
  /** Adds `position` to the slot's queue (parks the key). */
  park(slot: string, position: number): Promise<void>;
  position(slot: string, position: number): Promise<ParkedPosition>;
  /** The record left the pipeline (processed or dead-lettered); an empty queue frees the key. */
  leave(slot: string, position: number): Promise<void>;
  /** Slots parked now (for health and metrics; Redis counts this process's view). */
  parkedCount(): Promise<number>;
}

/** DI token of the {@link ParkingStore} (a store token is named like its interface). @internal */
export const ParkingStore = Symbol('ParkingStore');

/** Injects the {@link ParkingStore}. @internal */
export const InjectParkingStore = (): ParameterDecorator => Inject(ParkingStore);

/** The slot of a key: `<topic>.<group>` and the key. @internal */
export function parkingSlot(topic: string, groupId: string, key: string): string {
  return `${topic}.${groupId}\u0000${key}`;
}

/**
 * Parked keys in this process (the embedded default, and Kafka without Redis: correct while one
 * process consumes the topic; with several replicas, use Redis).
 * @internal
 */
export class MemoryParkingStore implements ParkingStore {
  readonly kind = 'memory';
  private readonly slots = new Map<string, Set<number>>();

  async joinIfParked(slot: string, position: number): Promise<boolean> {
    const queue = this.slots.get(slot);
    if (queue === undefined) return false;
    queue.add(position);
    return true;
  }

  async park(slot: string, position: number): Promise<void> {
    const queue = this.slots.get(slot);
    if (queue === undefined) this.slots.set(slot, new Set([position]));
    else queue.add(position);
  }

  async position(slot: string, position: number): Promise<ParkedPosition> {
    const queue = this.slots.get(slot);
    if (queue === undefined || !queue.has(position)) return { queued: false, head: false };
    return { queued: true, head: Math.min(...queue) === position };
  }

  async leave(slot: string, position: number): Promise<void> {
    const queue = this.slots.get(slot);
    if (queue === undefined) return;
    queue.delete(position);
    if (queue.size === 0) this.slots.delete(slot);
  }

  async parkedCount(): Promise<number> {
    return this.slots.size;
  }
}
