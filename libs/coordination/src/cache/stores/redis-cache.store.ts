import { RedisScript, type KeelRedisClient } from '@keel/core';
import { sendNow } from '@keel/core/internal';
import type {
  CacheInvalidation,
  CacheStore,
  InvalidationListener,
  StoredEntry,
} from './cache.store.js';
import { RELEASE_LEASE_SCRIPT, TAG_SCRIPT } from './redis-cache.lua.js';

const TAG = new RedisScript<number>(TAG_SCRIPT);
const RELEASE_LEASE = new RedisScript<number>(RELEASE_LEASE_SCRIPT);

/** Options of {@link RedisCacheStore}. @internal */
export interface RedisCacheStoreOptions {
  readonly client: KeelRedisClient;
  /** Opens the connection that receives invalidations (subscriber mode). */
  readonly subscriber: () => KeelRedisClient;
  readonly keyPrefix: string;
  readonly serviceName: string;
}

/**
 * The shared tier in Redis. A value is one string key (`<expiresAt>|<staleUntil>|<payload>`,
 * expiring when it is gone for good), its fill lease a key in the same hash tag; a tag is a set
 * of cache keys. Invalidations travel on one pub/sub channel per service.
 * @internal
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  private readonly client: KeelRedisClient;
  private readonly channel: string;
  private subscriber: KeelRedisClient | undefined;

  constructor(private readonly options: RedisCacheStoreOptions) {
    this.client = options.client;
    this.channel = `${options.keyPrefix}cache:invalidate:${options.serviceName}`;
  }

  get(key: string): Promise<StoredEntry | undefined> {
    // The read on every shared-tier hit is written at once: the caller is waiting for it.
    // As bytes: only the payload is decoded to a string, the header is read in place.
    return sendNow<Buffer | null>(this.client, 'get', [this.key(key)], 'buffer').then(parseEntry);
  }

  async set(key: string, entry: StoredEntry, tags: readonly string[]): Promise<void> {
    const liveMs = Math.max(1, Math.ceil(entry.staleUntil - Date.now()));
    const stored = this.key(key);
    const writes: Promise<unknown>[] = [
      this.client.set(
        stored,
        `${entry.expiresAt}|${entry.staleUntil}|${entry.payload}`,
        'PX',
        liveMs,
      ),
      this.client.del(`${stored}:lease`),
    ];
    for (const tag of tags) writes.push(TAG.run(this.client, 1, this.tagKey(tag), key, liveMs));
    await Promise.all(writes);
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DEL per key: keys live on different Cluster slots.
    await Promise.all(keys.map((key) => this.client.del(this.key(key))));
  }

  async takeTagged(tags: readonly string[]): Promise<string[]> {
    const replies = await Promise.all(
      tags.map((tag) => {
        const key = this.tagKey(tag);
        // Read and forget in one transaction, so a key tagged in between is not lost.
        return this.client.multi().smembers(key).del(key).exec();
      }),
    );
    const keys = new Set<string>();
    for (const reply of replies) {
      const members = reply?.[0]?.[1];
      if (Array.isArray(members)) for (const key of members) keys.add(String(key));
    }
    return [...keys];
  }

  async tryLease(key: string, holder: string, ms: number): Promise<boolean> {
    const lease = [`${this.key(key)}:lease`, holder, 'PX', ms, 'NX'];
    return (await sendNow<string | null>(this.client, 'set', lease)) === 'OK';
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    await RELEASE_LEASE.run(this.client, 1, `${this.key(key)}:lease`, holder);
  }

  async publish(invalidation: CacheInvalidation): Promise<void> {
    await this.client.publish(this.channel, JSON.stringify(invalidation));
  }

  async listen(listener: InvalidationListener): Promise<void> {
    if (this.subscriber !== undefined) return;
    const subscriber = this.options.subscriber();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const invalidation = parseInvalidation(text);
      if (invalidation !== undefined) listener.message(invalidation);
    });
    // While the connection is down, invalidations are missed: the feed is not live until the
    // channel is subscribed again (ioredis re-subscribes on reconnect; subscribing again is
    // idempotent and tells us when it is done).
    subscriber.on('close', () => listener.feed(false));
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => listener.feed(true),
        () => listener.feed(false),
      );
    });
    try {
      await subscriber.subscribe(this.channel);
      listener.feed(true);
    } catch {
      listener.feed(false);
    }
  }

  close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.removeAllListeners();
    subscriber?.disconnect();
    return Promise.resolve();
  }

  // The key's own hash tag: cache keys spread over Cluster slots; its lease shares its slot.
  // Braces inside a key would move the tag, so they are escaped.
  private key(key: string): string {
    return `${this.options.keyPrefix}cache:{${this.options.serviceName}:${escapeBraces(key)}}`;
  }

  private tagKey(tag: string): string {
    return `${this.options.keyPrefix}cache-tag:{${this.options.serviceName}:${escapeBraces(tag)}}`;
  }
}

const SEPARATOR = 0x7c; // '|'

/** `<expiresAt>|<staleUntil>|<payload>` as stored, or `undefined` for no key. */
function parseEntry(raw: Buffer | null): StoredEntry | undefined {
  if (raw === null) return undefined;
  const first = raw.indexOf(SEPARATOR);
  const second = raw.indexOf(SEPARATOR, first + 1);
  return {
    expiresAt: decimal(raw, 0, first),
    staleUntil: decimal(raw, first + 1, second),
    payload: raw.toString('utf8', second + 1),
  };
}

/** The non-negative integer written in `bytes[start, end)`; NaN if anything else is there. */
function decimal(bytes: Buffer, start: number, end: number): number {
  if (end <= start) return Number.NaN;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i] - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

function escapeBraces(text: string): string {
  return text.includes('{') || text.includes('}')
    ? text.replaceAll('{', '%7B').replaceAll('}', '%7D')
    : text;
}

function parseInvalidation(text: string): CacheInvalidation | undefined {
  try {
    const value = JSON.parse(text) as Partial<{ origin: string; keys: string[]; flush: true }>;
    if (typeof value.origin !== 'string') return undefined;
    if (value.flush === true) return { origin: value.origin, flush: true };
    if (Array.isArray(value.keys)) return { origin: value.origin, keys: value.keys.map(String) };
  } catch {
    // Not ours: ignore.
  }
  return undefined;
}
