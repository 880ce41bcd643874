import {
  QUEUE_LEASE_MS,
  type LockStore,
  type SemaphoreStore,
  type StoreAcquireMode,
  type StoreAcquireResult,
  type WaiterEvent,
} from './lock.store.js';

interface Hold {
  readonly token: string;
  readonly fence: number;
  expiresAt: number;
}

interface QueueEntry {
  readonly ttlMs: number;
  deadline: number;
  readonly fair: boolean;
  readonly weight: number;
}

interface Permit {
  readonly weight: number;
  readonly fence: number;
  expiresAt: number;
}

/**
 * The embedded lock store: the same semantics as the Redis store (expiry, fencing, FIFO queue,
 * push hand-off to fair waiters) inside one process. Correct for one process only: two replicas
 * each with a memory store do not exclude each other.
 * @publicApi
 */
export class MemoryLockStore implements LockStore {
  readonly kind = 'memory' as const;
  readonly pushHandoff = true;
  private readonly holds = new Map<string, Hold>();
  // A Map keeps insertion order, which is arrival order: the first entry is the queue head.
  private readonly queues = new Map<string, Map<string, QueueEntry>>();
  private readonly listeners = new Map<string, (event: WaiterEvent) => void>();
  private readonly waits = new Map<string, { key: string; until: number }>();
  private lastFence = 0;
  private readonly permits = new Map<string, Map<string, Permit>>();
  private readonly semQueues = new Map<string, Map<string, QueueEntry>>();
  readonly semaphores: SemaphoreStore = {
    tryAcquire: async (key, token, ttlMs, weight, permits, mode) =>
      this.semAcquire(key, token, ttlMs, weight, permits, mode),
    release: async (key, token, fence, permits) => {
      const now = Date.now();
      const holders = this.livePermits(key, now);
      const mine = holders.get(token);
      if (mine === undefined || mine.fence !== fence) return false;
      holders.delete(token);
      this.semHandoff(key, permits, now);
      if (holders.size === 0) this.permits.delete(key);
      return true;
    },
    extend: async (key, token, fence, ttlMs) => {
      const now = Date.now();
      const mine = this.livePermits(key, now).get(token);
      if (mine === undefined || mine.fence !== fence) return false;
      mine.expiresAt = now + ttlMs;
      return true;
    },
    cancel: async (key, token, permits) => {
      const now = Date.now();
      this.semQueues.get(key)?.delete(token);
      const holders = this.livePermits(key, now);
      holders.delete(token);
      this.semHandoff(key, permits, now);
      if (holders.size === 0) this.permits.delete(key);
    },
  };

  async tryAcquire(
    key: string,
    token: string,
    ttlMs: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult> {
    const now = Date.now();
    const hold = this.live(key, now);
    if (hold !== undefined) {
      if (hold.token === token)
        return { acquired: true, fence: hold.fence, validityMs: hold.expiresAt - now };
      if (mode.enqueue) enqueue(this.queues, key, token, ttlMs, mode.fair, 1, now);
      return { acquired: false, retryAfterMs: hold.expiresAt - now };
    }
    if (mode.fair) {
      const head = this.head(key, now);
      if (head !== undefined && head[0] !== token) {
        this.notify(head[0], { type: 'wake' });
        if (mode.enqueue) enqueue(this.queues, key, token, ttlMs, mode.fair, 1, now);
        return { acquired: false, retryAfterMs: 0 };
      }
    }
    const fence = this.grant(key, token, ttlMs, now);
    return { acquired: true, fence, validityMs: ttlMs };
  }

  async release(key: string, token: string, fence: number): Promise<boolean> {
    const now = Date.now();
    const hold = this.live(key, now);
    if (hold === undefined || hold.token !== token || hold.fence !== fence) return false;
    this.handoff(key, now);
    return true;
  }

  async extend(key: string, token: string, fence: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const hold = this.live(key, now);
    if (hold === undefined || hold.token !== token || hold.fence !== fence) return false;
    hold.expiresAt = now + ttlMs;
    return true;
  }

  async cancel(key: string, token: string): Promise<void> {
    const now = Date.now();
    this.queues.get(key)?.delete(token);
    const hold = this.live(key, now);
    if (hold === undefined || hold.token === token) this.handoff(key, now);
  }

  listen(token: string, listener: (event: WaiterEvent) => void): () => void {
    this.listeners.set(token, listener);
    return () => {
      if (this.listeners.get(token) === listener) this.listeners.delete(token);
    };
  }

  async ready(): Promise<void> {}

  async holder(key: string): Promise<string | undefined> {
    return this.live(key, Date.now())?.token;
  }

  async setWaitsFor(chain: string, key: string | undefined, ttlMs: number): Promise<void> {
    if (key === undefined) this.waits.delete(chain);
    else this.waits.set(chain, { key, until: Date.now() + ttlMs });
  }

  async waitsFor(chain: string): Promise<string | undefined> {
    const wait = this.waits.get(chain);
    return wait !== undefined && wait.until > Date.now() ? wait.key : undefined;
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private semAcquire(
    key: string,
    token: string,
    ttlMs: number,
    weight: number,
    permits: number,
    mode: StoreAcquireMode,
  ): StoreAcquireResult {
    const now = Date.now();
    const holders = this.livePermits(key, now);
    const mine = holders.get(token);
    if (mine !== undefined)
      return { acquired: true, fence: mine.fence, validityMs: mine.expiresAt - now };
    const queue = this.semQueues.get(key);
    const retryAfterMs = () =>
      Math.max(0, Math.min(...[...holders.values()].map((p) => p.expiresAt - now)));
    const join = () => enqueue(this.semQueues, key, token, ttlMs, mode.fair, weight, now);
    if (mode.fair && queue !== undefined) {
      for (const [head, entry] of queue) {
        if (head === token) break;
        if (entry.deadline < now) {
          queue.delete(head);
          continue;
        }
        if (mode.enqueue) join();
        this.semHandoff(key, permits, now);
        return { acquired: false, retryAfterMs: retryAfterMs() };
      }
    }
    if (used(holders) + weight <= permits) {
      const fence = this.nextFence(now);
      holders.set(token, { weight, fence, expiresAt: now + ttlMs });
      queue?.delete(token);
      return { acquired: true, fence, validityMs: ttlMs };
    }
    if (mode.enqueue) join();
    return { acquired: false, retryAfterMs: retryAfterMs() };
  }

  private semHandoff(key: string, permits: number, now: number): void {
    const holders = this.livePermits(key, now);
    const queue = this.semQueues.get(key);
    if (queue === undefined) return;
    let free = permits - used(holders);
    for (const [token, entry] of queue) {
      if (free <= 0) break;
      if (entry.deadline < now) {
        queue.delete(token);
        continue;
      }
      if (entry.weight > free) break;
      queue.delete(token);
      free -= entry.weight;
      if (entry.fair) {
        const fence = this.nextFence(now);
        holders.set(token, { weight: entry.weight, fence, expiresAt: now + entry.ttlMs });
        this.notify(token, { type: 'grant', fence, ttlMs: entry.ttlMs });
      } else {
        this.notify(token, { type: 'wake' });
      }
    }
    if (queue.size === 0) this.semQueues.delete(key);
  }

  private livePermits(key: string, now: number): Map<string, Permit> {
    let holders = this.permits.get(key);
    if (holders === undefined) this.permits.set(key, (holders = new Map()));
    for (const [token, permit] of holders) if (permit.expiresAt <= now) holders.delete(token);
    return holders;
  }

  private nextFence(now: number): number {
    this.lastFence = Math.max(this.lastFence + 1, now * 1_000);
    return this.lastFence;
  }

  private live(key: string, now: number): Hold | undefined {
    const hold = this.holds.get(key);
    if (hold !== undefined && hold.expiresAt <= now) {
      this.holds.delete(key);
      return undefined;
    }
    return hold;
  }

  private grant(key: string, token: string, ttlMs: number, now: number): number {
    // Same rule as the Redis store: a counter with the clock (µs) as floor.
    const fence = this.nextFence(now);
    this.holds.set(key, { token, fence, expiresAt: now + ttlMs });
    const queue = this.queues.get(key);
    queue?.delete(token);
    if (queue?.size === 0) this.queues.delete(key);
    return fence;
  }

  private head(key: string, now: number): [string, QueueEntry] | undefined {
    const queue = this.queues.get(key);
    if (queue === undefined) return undefined;
    for (const [token, entry] of queue) {
      if (entry.deadline >= now) return [token, entry];
      queue.delete(token);
    }
    this.queues.delete(key);
    return undefined;
  }

  private handoff(key: string, now: number): void {
    const head = this.head(key, now);
    if (head === undefined) {
      this.holds.delete(key);
      return;
    }
    const [token, entry] = head;
    if (entry.fair) {
      const fence = this.grant(key, token, entry.ttlMs, now);
      this.notify(token, { type: 'grant', fence, ttlMs: entry.ttlMs });
    } else {
      this.holds.delete(key);
      this.notify(token, { type: 'wake' });
    }
  }

  private notify(token: string, event: WaiterEvent): void {
    const listener = this.listeners.get(token);
    // Delivered asynchronously, like a pub/sub message: never inside the releaser's call.
    if (listener !== undefined) void Promise.resolve().then(() => listener(event));
  }
}

/** Joins `key`'s queue in `queues`, or refreshes the lease of the place `token` already has. */
function enqueue(
  queues: Map<string, Map<string, QueueEntry>>,
  key: string,
  token: string,
  ttlMs: number,
  fair: boolean,
  weight: number,
  now: number,
): void {
  let queue = queues.get(key);
  if (queue === undefined) queues.set(key, (queue = new Map()));
  const entry = queue.get(token);
  if (entry !== undefined) entry.deadline = now + QUEUE_LEASE_MS;
  else queue.set(token, { ttlMs, fair, weight, deadline: now + QUEUE_LEASE_MS });
}

function used(holders: Map<string, Permit>): number {
  let total = 0;
  for (const permit of holders.values()) total += permit.weight;
  return total;
}
