import { Inject } from '@nestjs/common';

/**
 * Which keys are parked: per `(topic, group, key)` slot, how many of the key's records are in
 * the retry pipeline (`count`), and whether the key's head record failed again and was
 * re-queued behind the records waiting for it (`blocked`). A key is parked while `count > 0`:
 * the main consumer then sends the key's later records to the retry topic behind it, so they
 * keep their order while other keys flow on.
 * @internal
 */
export interface ParkingStore {
  readonly kind: 'memory' | 'redis';
  /** Atomically: if the slot is parked, counts one more record in it and returns true. */
  joinIfParked(slot: string): Promise<boolean>;
  /** Counts one more record in the slot (parks it). */
  park(slot: string): Promise<void>;
  /** One record left the pipeline (processed or dead-lettered); the slot is freed at zero. */
  leave(slot: string): Promise<void>;
  isBlocked(slot: string): Promise<boolean>;
  setBlocked(slot: string, blocked: boolean): Promise<void>;
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
  private readonly slots = new Map<string, { count: number; blocked: boolean }>();

  async joinIfParked(slot: string): Promise<boolean> {
    const state = this.slots.get(slot);
    if (state === undefined) return false;
    state.count += 1;
    return true;
  }

  async park(slot: string): Promise<void> {
    const state = this.slots.get(slot);
    if (state === undefined) this.slots.set(slot, { count: 1, blocked: false });
    else state.count += 1;
  }

  async leave(slot: string): Promise<void> {
    const state = this.slots.get(slot);
    if (state === undefined) return;
    state.count -= 1;
    if (state.count <= 0) this.slots.delete(slot);
  }

  async isBlocked(slot: string): Promise<boolean> {
    return this.slots.get(slot)?.blocked === true;
  }

  async setBlocked(slot: string, blocked: boolean): Promise<void> {
    const state = this.slots.get(slot);
    if (state !== undefined) state.blocked = blocked;
  }

  async parkedCount(): Promise<number> {
    return this.slots.size;
  }
}
