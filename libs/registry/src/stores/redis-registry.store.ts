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
} from '../registry.store.js';

// Every script reads the clock with TIME (Redis 7 replicates script effects, so this is allowed
// before writes): times in records come from the one server clock, never from an app's clock.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// The owner check: the first registration stores SHA1(proof); later writes must present the
// proof itself. The stored hash is readable but does not reveal the proof.
const OWNER = `local function owned(owners, id, proof)
  local owner = redis.call('HGET', owners, id)
  if not owner or owner == '' then return true end
  return proof ~= '' and redis.sha1hex(proof) == owner
end`;

/** KEYS: index, records, owners. ARGV: id, json, ttlMs, proof, channel. */
const REGISTER = `${NOW}
${OWNER}
if not owned(KEYS[3], ARGV[1], ARGV[4]) then return 'forbidden' end
local rec = cjson.decode(ARGV[2])
rec.registeredAt = now
rec.heartbeatAt = now
rec.updatedAt = now
local json = cjson.encode(rec)
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], json)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4] == '' and '' or redis.sha1hex(ARGV[4]))
redis.call('ZADD', KEYS[1], exp, ARGV[1])
redis.call('PUBLISH', ARGV[5], cjson.encode({ t = 'up', id = ARGV[1], r = json, e = exp, n = now }))
return 'ok'`;

/** KEYS: index, records, owners. ARGV: id, ttlMs, proof. No event: heartbeats stay off the bus. */
const HEARTBEAT = `${NOW}
${OWNER}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local json = redis.call('HGET', KEYS[2], ARGV[1])
-- Expired but not yet pruned counts as gone: the instance registers again and watchers get 'up'.
if not json or not score or tonumber(score) < now then return 'missing' end
if not owned(KEYS[3], ARGV[1], ARGV[3]) then return 'forbidden' end
local rec = cjson.decode(json)
rec.heartbeatAt = now
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(rec))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 'ok'`;

/** KEYS: index, records, owners, lease. ARGV: id, field, value, proof, fence, channel. */
const SET_STATUS = `${NOW}
${OWNER}
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return 'fenced' end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local json = redis.call('HGET', KEYS[2], ARGV[1])
if not json or not score or tonumber(score) < now then return 'missing' end
if not owned(KEYS[3], ARGV[1], ARGV[4]) then return 'forbidden' end
local rec = cjson.decode(json)
local value = ARGV[3]
if ARGV[2] == 'draining' then value = (ARGV[3] == 'true') end
if rec[ARGV[2]] ~= value then
  rec[ARGV[2]] = value
  rec.updatedAt = now
  json = cjson.encode(rec)
  redis.call('HSET', KEYS[2], ARGV[1], json)
  redis.call('PUBLISH', ARGV[6], cjson.encode({ t = 'up', id = ARGV[1], r = json, e = tonumber(score), n = now }))
end
return 'ok'`;

/** KEYS: index, records, owners. ARGV: id, proof, channel. */
const DEREGISTER = `${NOW}
${OWNER}
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 'missing'
end
if not owned(KEYS[3], ARGV[1], ARGV[2]) then return 'forbidden' end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], cjson.encode({ t = 'down', id = ARGV[1], n = now }))
return 'ok'`;

/**
 * KEYS: index, records, owners. ARGV: channel. Prunes expired instances (publishing 'down' for
 * each) and returns { now, id1, json1, expiry1, ... } in one atomic step, so no reader ever gets
 * an expired record and every watcher hears of the removal even if it did not prune itself.
 */
const SNAPSHOT = `${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('PUBLISH', ARGV[1], cjson.encode({ t = 'down', id = id, n = now }))
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now) end
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = { tostring(now) }
for i = 1, #live, 2 do
  local json = redis.call('HGET', KEYS[2], live[i])
  if json then
    out[#out + 1] = live[i]
    out[#out + 1] = json
    out[#out + 1] = live[i + 1]
  end
end
return out`;

/** KEYS: lease, epoch. ARGV: owner, ttlMs. The epoch makes every token unique (fencing). */
const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token`;

/** KEYS: lease. ARGV: token, ttlMs. */
const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS: lease. ARGV: token. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

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
      [k.index, k.records, k.owners, k.lease],
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
      channel: `${this.prefix}registry:events:${service}`,
    };
  }

  private run(s: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return s.run(this.client, keys.length, ...keys, ...args);
  }
}
