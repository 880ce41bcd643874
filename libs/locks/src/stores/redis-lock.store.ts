import { randomBytes } from 'node:crypto';
import { RedisScript, type KeelRedisClient } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import { LocksError } from '../locks.errors.js';
import { storeClosed } from '../locks.messages.js';
import {
  QUEUE_LEASE_MS,
  type LockStore,
  type SemaphoreStore,
  type StoreAcquireMode,
  type StoreAcquireResult,
  type WaiterEvent,
} from './lock.store.js';
import {
  ACQUIRE_SCRIPT,
  BUMP_SCRIPT,
  TRY_SCRIPT,
  CANCEL_SCRIPT,
  EXTEND_SCRIPT,
  RELEASE_MANY_SCRIPT,
  RELEASE_SCRIPT,
  TRY_MANY_SCRIPT,
} from './redis-lock.lua.js';
import {
  SEMAPHORE_ACQUIRE_SCRIPT,
  SEMAPHORE_CANCEL_SCRIPT,
  SEMAPHORE_EXTEND_SCRIPT,
  SEMAPHORE_RELEASE_SCRIPT,
} from './redis-semaphore.lua.js';

type ScriptReply = [number, string, number];

/**
 * Most operations one coalesced script call carries: bounds how long one call keeps Redis busy
 * (about 5 µs per lock).
 */
const MAX_BATCH = 128;

interface PendingTry {
  readonly lock: string;
  readonly token: string;
  readonly ttlMs: number;
  readonly resolve: (result: StoreAcquireResult) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingRelease {
  readonly lock: string;
  readonly key: string;
  readonly value: string;
  readonly resolve: (released: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the operations issued in one tick and hands them to `send` on `process.nextTick`, at
 * most {@link MAX_BATCH} at a time. A synchronous throw from `send` rejects that part: it would
 * otherwise escape `process.nextTick` as an uncaught exception.
 */
class Coalescer<Op extends { readonly reject: (error: unknown) => void }> {
  private pending: Op[] = [];

  constructor(private readonly send: (part: Op[]) => void) {}

  add(op: Op): void {
    if (this.pending.push(op) === 1) process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    const batch = this.pending;
    this.pending = [];
    for (let from = 0; from < batch.length; from += MAX_BATCH) {
      const part = batch.length <= MAX_BATCH ? batch : batch.slice(from, from + MAX_BATCH);
      try {
        this.send(part);
      } catch (error) {
        for (const op of part) op.reject(error);
      }
    }
  };
}

/** Options of {@link RedisLockStore}. @publicApi */
export interface RedisLockStoreOptions {
  /** Command connection (shared). */
  readonly client: KeelRedisClient;
  /** Dedicated connection for the wake channel; created lazily on the first wait. */
  readonly subscriber: () => KeelRedisClient;
  /** Prefix of every key, e.g. `keel:locks:`. */
  readonly prefix: string;
}

/**
 * The Redis lock store: one Lua script per operation, one round trip each; waiters are queued
 * in Redis and woken (or handed the lock) through one pub/sub channel per store instance, so
 * nobody polls and only the next waiter is woken. Outside a cluster, the uncontended attempts
 * and releases issued in one tick share one script call, written to the connection directly
 * (see `RedisScript.send`): the store batches its own calls, so ioredis' auto-pipeline would only
 * add its per-call cost.
 * @publicApi
 */
export class RedisLockStore implements LockStore {
  readonly kind = 'redis' as const;
  readonly pushHandoff = true;
  /** Channel on which this instance's waiters hear grants and wake-ups. */
  readonly channel: string;
  private readonly client: KeelRedisClient;
  private readonly listeners = new Map<string, (event: WaiterEvent) => void>();
  private subscriber: KeelRedisClient | undefined;
  readonly semaphores: SemaphoreStore;
  private subscribed: Promise<void> | undefined;
  private closed = false;
  /**
   * Uncontended attempts and releases issued in the same tick go to Redis as one script call
   * (see TRY_MANY_SCRIPT), and one fence counter serves every lock of the store. Neither works
   * on a cluster, where one script cannot span hash slots.
   */
  private readonly standalone: boolean;
  /** The store-wide fence counter (standalone and Sentinel). */
  private readonly sharedFence: string;
  private readonly tries = new Coalescer<PendingTry>((part) => this.sendTries(part));
  private readonly releases = new Coalescer<PendingRelease>((part) => this.sendReleases(part));

  constructor(private readonly options: RedisLockStoreOptions) {
    this.channel = `${options.prefix}wake:${randomBytes(8).toString('hex')}`;
    this.client = options.client;
    this.semaphores = this.semaphoreStore();
    this.standalone = (options.client as { isCluster?: boolean }).isCluster !== true;
    this.sharedFence = `${options.prefix}fence`;
  }

  tryAcquire(
    key: string,
    token: string,
    ttlMs: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult> {
    if (mode.fair || mode.enqueue || mode.queued)
      return this.acquireQueued(key, token, ttlMs, mode);
    const lock = this.lockKey(key);
    if (!this.standalone) {
      return SCRIPTS.try
        .run(this.client, 2, lock, this.fenceKey(lock), token, Math.ceil(ttlMs))
        .then((result) => tryResult(result, ttlMs));
    }
    return new Promise((resolve, reject) =>
      this.tries.add({ lock, token, ttlMs, resolve, reject }),
    );
  }

  private async acquireQueued(
    key: string,
    token: string,
    ttlMs: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult> {
    if (mode.enqueue) await this.ready();
    return reply(
      await SCRIPTS.acquire.run(
        this.client,
        4,
        ...this.keys(key),
        token,
        Math.ceil(ttlMs),
        mode.fair ? 1 : 0,
        mode.enqueue ? 1 : 0,
        this.channel,
        QUEUE_LEASE_MS,
        mode.queued ? 1 : 0,
      ),
    );
  }

  release(key: string, token: string, fence: number): Promise<boolean> {
    const value = `${token}|${fence}`;
    if (!this.standalone)
      return SCRIPTS.release
        .run(this.client, 4, ...this.keys(key), value)
        .then((result) => result === 1);
    return new Promise((resolve, reject) =>
      this.releases.add({ lock: this.lockKey(key), key, value, resolve, reject }),
    );
  }

  private sendTries(part: PendingTry[]): void {
    if (part.length === 1) {
      const op = part[0];
      SCRIPTS.try
        .send(this.client, 2, op.lock, this.sharedFence, op.token, Math.ceil(op.ttlMs))
        .then((result) => op.resolve(tryResult(result, op.ttlMs)), op.reject);
      return;
    }
    const n = part.length;
    const args: (string | number)[] = new Array(1 + 3 * n);
    args[0] = this.sharedFence;
    for (let i = 0; i < n; i++) {
      const op = part[i];
      args[1 + i] = op.lock;
      args[1 + n + 2 * i] = op.token;
      args[2 + n + 2 * i] = Math.ceil(op.ttlMs);
    }
    SCRIPTS.tryMany.send(this.client, n + 1, ...args).then(
      (results) => {
        for (let i = 0; i < n; i++) part[i].resolve(tryResult(results[i], part[i].ttlMs));
      },
      (error: unknown) => {
        for (const op of part) op.reject(error);
      },
    );
  }

  private sendReleases(part: PendingRelease[]): void {
    if (part.length === 1) {
      this.releaseOne(part[0]);
      return;
    }
    const n = part.length;
    const args: string[] = new Array(2 * n);
    for (let i = 0; i < n; i++) {
      args[i] = part[i].lock;
      args[n + i] = part[i].value;
    }
    SCRIPTS.releaseMany.send(this.client, n, ...args).then(
      (results) => {
        for (let i = 0; i < n; i++) {
          // 2: marked as queued behind; the full release script hands the lock on.
          if (results[i] === 2) this.releaseOne(part[i]);
          else part[i].resolve(results[i] === 1);
        }
      },
      (error: unknown) => {
        for (const op of part) op.reject(error);
      },
    );
  }

  private releaseOne(op: PendingRelease): void {
    SCRIPTS.release
      .send(this.client, 4, ...this.keys(op.key), op.value)
      .then((result) => op.resolve(result === 1), op.reject);
  }

  async extend(key: string, token: string, fence: number, ttlMs: number): Promise<boolean> {
    return (
      (await SCRIPTS.extend.run(
        this.client,
        1,
        this.lockKey(key),
        `${token}|${fence}`,
        Math.ceil(ttlMs),
      )) === 1
    );
  }

  /** Quorum write-back: raises this node's fence counter while `token` holds the lock here. */
  async bumpFence(key: string, token: string, nodeFence: number, fence: number): Promise<boolean> {
    const [lock, counter] = this.keys(key);
    return (
      (await SCRIPTS.bump.run(this.client, 2, lock, counter, `${token}|${nodeFence}`, fence)) === 1
    );
  }

  async cancel(key: string, token: string): Promise<void> {
    await SCRIPTS.cancel.run(this.client, 4, ...this.keys(key), token);
  }

  listen(token: string, listener: (event: WaiterEvent) => void): () => void {
    this.listeners.set(token, listener);
    return () => {
      if (this.listeners.get(token) === listener) this.listeners.delete(token);
    };
  }

  ready(): Promise<void> {
    if (this.subscribed !== undefined) return this.subscribed;
    if (this.closed) return Promise.reject(new LocksError('KEEL_LOCKS_SHUT_DOWN', storeClosed()));
    const subscriber = (this.subscriber = this.options.subscriber());
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.dispatch(message);
    });
    // ioredis re-subscribes after a reconnect by itself; waiters also re-check on a timer, so a
    // message lost while disconnected delays a hand-off by at most that interval.
    this.subscribed = subscriber.subscribe(this.channel).then(() => undefined);
    this.subscribed.catch(() => {
      this.subscribed = undefined;
    });
    return this.subscribed;
  }

  async holder(key: string): Promise<string | undefined> {
    const value = await this.client.get(this.lockKey(key));
    return value === null ? undefined : value.slice(0, value.indexOf('|'));
  }

  async setWaitsFor(chain: string, key: string | undefined, ttlMs: number): Promise<void> {
    const name = `${this.options.prefix}waits:${chain}`;
    if (key === undefined) await this.client.del(name);
    else await this.client.set(name, key, 'PX', Math.ceil(ttlMs));
  }

  async waitsFor(chain: string): Promise<string | undefined> {
    return (await this.client.get(`${this.options.prefix}waits:${chain}`)) ?? undefined;
  }

  unusableConnection(): string | undefined {
    const { status } = this.client;
    // 'wait' is a lazy client that has not connected yet: the ping connects it.
    return status === 'ready' || status === 'wait' ? undefined : status;
  }

  async ping(): Promise<number> {
    const start = performance.now();
    await this.client.ping();
    return performance.now() - start;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber !== undefined) await closeRedisClient(subscriber);
  }

  /** The lock's Redis key; its `{hash tag}` is shared by all keys of the lock. */
  lockKey(key: string): string {
    return `${this.options.prefix}{${key}}`;
  }

  private keys(key: string): [string, string, string, string] {
    const base = this.lockKey(key);
    return [base, this.fenceKey(base), `${base}:q`, `${base}:qe`];
  }

  private fenceKey(lock: string): string {
    return this.standalone ? this.sharedFence : `${lock}:fence`;
  }

  private semaphoreStore(): SemaphoreStore {
    const keys = (key: string): [string, string, string, string, string] => {
      const base = `${this.options.prefix}sem:{${key}}`;
      return [base, `${base}:w`, `${base}:fence`, `${base}:q`, `${base}:qe`];
    };
    const client = this.client;
    return {
      tryAcquire: async (key, token, ttlMs, weight, permits, mode) => {
        if (mode.enqueue) await this.ready();
        return reply(
          await SCRIPTS.semAcquire.run(
            client,
            5,
            ...keys(key),
            token,
            Math.ceil(ttlMs),
            weight,
            permits,
            mode.fair ? 1 : 0,
            mode.enqueue ? 1 : 0,
            this.channel,
            QUEUE_LEASE_MS,
          ),
        );
      },
      release: async (key, token, fence, permits) =>
        (await SCRIPTS.semRelease.run(client, 5, ...keys(key), token, fence, permits)) === 1,
      extend: async (key, token, fence, ttlMs) =>
        (await SCRIPTS.semExtend.run(client, 5, ...keys(key), token, fence, Math.ceil(ttlMs))) ===
        1,
      cancel: async (key, token, permits) => {
        await SCRIPTS.semCancel.run(client, 5, ...keys(key), token, permits);
      },
    };
  }

  private dispatch(message: string): void {
    const parts = message.split('|');
    const listener = this.listeners.get(parts[1]);
    if (listener === undefined) return;
    if (parts[0] === 'g')
      listener({ type: 'grant', fence: Number(parts[2]), ttlMs: Number(parts[3]) });
    else listener({ type: 'wake' });
  }
}

function tryResult(result: string | number, ttlMs: number): StoreAcquireResult {
  return typeof result === 'string'
    ? { acquired: true, fence: Number(result), validityMs: ttlMs }
    : { acquired: false, retryAfterMs: Math.max(0, result) };
}

function reply([ok, fence, ms]: ScriptReply): StoreAcquireResult {
  return ok === 1
    ? { acquired: true, fence: Number(fence), validityMs: Number(ms) }
    : { acquired: false, retryAfterMs: Math.max(0, Number(ms)) };
}

/** The store's scripts, run by EVALSHA (see RedisScript for why not `defineCommand`). */
const SCRIPTS = {
  acquire: new RedisScript<ScriptReply>(ACQUIRE_SCRIPT),
  try: new RedisScript<string | number>(TRY_SCRIPT),
  tryMany: new RedisScript<(string | number)[]>(TRY_MANY_SCRIPT),
  release: new RedisScript<number>(RELEASE_SCRIPT),
  releaseMany: new RedisScript<number[]>(RELEASE_MANY_SCRIPT),
  extend: new RedisScript<number>(EXTEND_SCRIPT),
  cancel: new RedisScript<number>(CANCEL_SCRIPT),
  bump: new RedisScript<number>(BUMP_SCRIPT),
  semAcquire: new RedisScript<ScriptReply>(SEMAPHORE_ACQUIRE_SCRIPT),
  semRelease: new RedisScript<number>(SEMAPHORE_RELEASE_SCRIPT),
  semExtend: new RedisScript<number>(SEMAPHORE_EXTEND_SCRIPT),
  semCancel: new RedisScript<number>(SEMAPHORE_CANCEL_SCRIPT),
};
