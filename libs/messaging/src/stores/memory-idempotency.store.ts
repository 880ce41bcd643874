import { randomUUID } from 'node:crypto';
import {
  runWithLease,
  type IdempotencyStore,
  type IdempotentOutcome,
  type IdempotentRun,
  type LeaseBackend,
} from './idempotency.store.js';

interface Entry {
  readonly state: 'running' | 'done';
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Idempotency keys in this process (the embedded default): a duplicate is detected only if it
 * reaches the same process. Expired keys are dropped when seen and by `prune()`.
 * @internal
 */
export class MemoryIdempotencyStore implements IdempotencyStore, LeaseBackend {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();

  run<T>(request: IdempotentRun, body: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    return runWithLease(this, randomUUID(), request, body, () => undefined);
  }

  async claim(key: string, token: string, leaseMs: number) {
    const entry = this.live(key);
    if (entry?.state === 'done') return { state: 'done' as const };
    if (entry?.state === 'running') {
      return { state: 'running' as const, retryAfterMs: entry.expiresAt - Date.now() };
    }
    this.entries.set(key, { state: 'running', token, expiresAt: Date.now() + leaseMs });
    return { state: 'claimed' as const };
  }

  async complete(key: string, token: string, ttlMs: number): Promise<void> {
    const entry = this.live(key);
    if (entry === undefined || entry.token === token) {
      this.entries.set(key, { state: 'done', token, expiresAt: Date.now() + ttlMs });
    }
  }

  async release(key: string, token: string): Promise<void> {
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }

  async extend(key: string, token: string, leaseMs: number): Promise<void> {
    const entry = this.live(key);
    if (entry?.state === 'running' && entry.token === token) {
      this.entries.set(key, { ...entry, expiresAt: Date.now() + leaseMs });
    }
  }

  async prune(): Promise<number> {
    const now = Date.now();
    let pruned = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        pruned += 1;
      }
    }
    return pruned;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
