import { RedisScript, type KeelRedisClient } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import type {
  RawRecord,
  RegistryEvent,
  RegistryStore,
  RegistrySubscription,
  ServiceSnapshot,
  StatusField,
  WriteOutcome,
} from './registry.store.js';
import {
  ACQUIRE,
  DEREGISTER,
  HEARTBEAT,
  REGISTER,
  RELEASE,
  RENEW,
  SET_STATUS,
  SNAPSHOT,
} from './redis-registry.lua.js';

const SCRIPTS = {
  register: new RedisScript(REGISTER),
  heartbeat: new RedisScript(HEARTBEAT),
  setStatus: new RedisScript(SET_STATUS),
  deregister: new RedisScript(DEREGISTER),
  snapshot: new RedisScript(SNAPSHOT),
  acquire: new RedisScript(ACQUIRE),
  renew: new RedisScript(RENEW),
  release: new RedisScript(RELEASE),
};

/** Options of {@link RedisRegistryStore}. @publicApi */
export interface RedisRegistryStoreOptions {
  /** Command connection (shared). */
  readonly client: KeelRedisClient;
  /** Opens a dedicated connection for pub/sub. */
  readonly subscriber: () => KeelRedisClient;
  /** @default 'keel:' */
  readonly keyPrefix?: string;
}

interface PushMessage {
  t: 'up' | 'down';
  id: string;
  r?: string;
  e?: number;
  n: number;
}

/**
 * The registry in Redis. Per service, under one hash tag `{registry:<service>}` (Cluster-safe):
 * a sorted set of instance ids scored by expiry (server clock), a hash of records, a hash of
 * owner-proof digests and the monitor lease. Changes are pushed on the channel
 * `<prefix>registry:events:<service>`; heartbeats are not (they only move expiry). No SCAN: the
 * set of service names is its own key.
 * @publicApi
 */
export class RedisRegistryStore implements RegistryStore {
  private readonly prefix: string;
  private readonly client: KeelRedisClient;
  private readonly subscribers = new Set<KeelRedisClient>();

  constructor(private readonly options: RedisRegistryStoreOptions) {
    this.client = options.client;
    this.prefix = options.keyPrefix ?? 'keel:';
  }

  async now(): Promise<number> {
    const [seconds, micros] = await this.client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async register(
    service: string,
    id: string,
    json: string,
    ttlMs: number,
    proof: string,
  ): Promise<WriteOutcome> {
    const k = this.keys(service);
    const [outcome] = await Promise.all([
      this.run(
        SCRIPTS.register,
        [k.index, k.records, k.owners],
        [id, json, ttlMs, proof, k.channel],
      ),
      this.client.sadd(`${this.prefix}{registry}:services`, service),
    ]);
    return outcome as WriteOutcome;
  }

  async heartbeat(
    service: string,
    id: string,
    ttlMs: number,
    proof: string,
  ): Promise<WriteOutcome> {
    const k = this.keys(service);
    return (await this.run(
      SCRIPTS.heartbeat,
      [k.index, k.records, k.owners],
      [id, ttlMs, proof],
    )) as WriteOutcome;
  }

  async setStatus(
    service: string,
    id: string,
    field: StatusField,
    value: string,
    proof: string,
    fence?: string,
  ): Promise<WriteOutcome> {
    const k = this.keys(service);
    return (await this.run(
      SCRIPTS.setStatus,
      [k.index, k.records, k.owners, k.lease, k.fence],
      [id, field, value, proof, fence ?? '', k.channel],
    )) as WriteOutcome;
  }

  async deregister(service: string, id: string, proof: string): Promise<WriteOutcome> {
    const k = this.keys(service);
    return (await this.run(
      SCRIPTS.deregister,
      [k.index, k.records, k.owners],
      [id, proof, k.channel],
    )) as WriteOutcome;
  }

  async snapshot(service: string): Promise<ServiceSnapshot> {
    const k = this.keys(service);
    const reply = (await this.run(
      SCRIPTS.snapshot,
      [k.index, k.records, k.owners],
      [k.channel],
    )) as string[];
    const records: RawRecord[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      records.push({ id: reply[i], json: reply[i + 1], expiresAt: Number(reply[i + 2]) });
    }
    return { service, records, now: Number(reply[0]) };
  }

  async services(): Promise<string[]> {
    return this.client.smembers(`${this.prefix}{registry}:services`);
  }

  async subscribe(
    services: readonly string[],
    listener: (event: RegistryEvent) => void,
    onReconnect: () => void,
  ): Promise<RegistrySubscription> {
    const subscriber = this.options.subscriber();
    this.subscribers.add(subscriber);
    const channelPrefix = `${this.prefix}registry:events:`;
    subscriber.on('message', (channel: string, text: string) => {
      if (!channel.startsWith(channelPrefix)) return;
      const service = channel.slice(channelPrefix.length);
      let message: PushMessage;
      try {
        message = JSON.parse(text) as PushMessage;
      } catch {
        return;
      }
      if (message.t === 'up' && typeof message.r === 'string') {
        listener({
          type: 'up',
          service,
          record: { id: message.id, json: message.r, expiresAt: Number(message.e) },
          now: Number(message.n),
        });
      } else if (message.t === 'down') {
        listener({ type: 'down', service, id: message.id, now: Number(message.n) });
      }
    });
    let readyOnce = false;
    // ioredis re-subscribes by itself after a reconnect; events published meanwhile are lost,
    // so the caller resyncs.
    subscriber.on('ready', () => {
      if (readyOnce) onReconnect();
      readyOnce = true;
    });
    const channels = (names: readonly string[]) => names.map((s) => `${channelPrefix}${s}`);
    if (services.length > 0) await subscriber.subscribe(...channels(services));
    return {
      add: async (more) => {
        if (more.length > 0) await subscriber.subscribe(...channels(more));
      },
      close: async () => {
        this.subscribers.delete(subscriber);
        await closeRedisClient(subscriber);
      },
    };
  }

  async acquireLease(service: string, owner: string, ttlMs: number): Promise<string | undefined> {
    const k = this.keys(service);
    const token = await this.run(SCRIPTS.acquire, [k.lease, k.epoch], [owner, ttlMs]);
    return typeof token === 'string' ? token : undefined;
  }

  async renewLease(service: string, token: string, ttlMs: number): Promise<boolean> {
    const k = this.keys(service);
    return (await this.run(SCRIPTS.renew, [k.lease], [token, ttlMs])) === 1;
  }

  async releaseLease(service: string, token: string): Promise<void> {
    const k = this.keys(service);
    await this.run(SCRIPTS.release, [k.lease], [token]);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const all = [...this.subscribers];
    this.subscribers.clear();
    await Promise.all(all.map(closeRedisClient));
  }

  /** Keys of one service, all under one hash tag. */
  private keys(service: string) {
    const base = `${this.prefix}{registry:${service}}`;
    return {
      index: `${base}:index`,
      records: `${base}:records`,
      owners: `${base}:owners`,
      lease: `${base}:monitor`,
      epoch: `${base}:monitor:epoch`,
      fence: `${base}:monitor:fence`,
      channel: `${this.prefix}registry:events:${service}`,
    };
  }

  private run(s: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return s.run(this.client, keys.length, ...keys, ...args);
  }
}
