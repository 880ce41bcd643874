import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { KeelMetrics } from '@keel/core';
import {
  CacheEvict,
  CacheHealthIndicator,
  CachePut,
  CacheService,
  Cached,
  Fallback,
  Retry,
} from '@keel/coordination';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { samples } from '../../../test/support/metric-samples.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { barrier, bootApp } from './support.js';

class Money {
  constructor(
    readonly cents: bigint,
    readonly currency: string,
  ) {}

  format(): string {
    return `${this.cents} ${this.currency}`;
  }
}

interface Order {
  readonly id: string;
  readonly version: number;
  readonly placedAt: Date;
  readonly lines: Map<string, number>;
  readonly total: Money;
}

/** An order repository whose reads are slow enough to matter and counted. */
@Injectable()
class Orders {
  readonly versions = new Map<string, number>();
  loads = 0;
  gate: Promise<void> | undefined;

  @Cached({ name: 'order', key: '{id}', ttlMs: 60_000, tags: ['customer:{customerId}'] })
  async find(id: string, customerId: string): Promise<Order> {
    return this.load(id, customerId);
  }

  @CachePut({ name: 'order', key: '{id}', tags: ['customer:{customerId}'] })
  async bump(id: string, customerId: string): Promise<Order> {
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1);
    return this.load(id, customerId);
  }

  @CacheEvict({ name: 'order', key: '{id}' })
  async cancel(id: string): Promise<void> {
    this.versions.set(id, (this.versions.get(id) ?? 0) + 100);
  }

  @CacheEvict({ tags: ['customer:{customerId}'] })
  async forgetCustomer(customerId: string): Promise<string> {
    return customerId;
  }

  @Cached({ ttlMs: 60_000 })
  async search(filter: { status: string; page: number }): Promise<number> {
    this.loads++;
    return filter.page;
  }

  @Cached({ name: 'maybe', key: '{id}' })
  async maybe(id: string): Promise<string | null> {
    this.loads++;
    return id === 'none' ? null : id;
  }

  private async load(id: string, customerId: string): Promise<Order> {
    this.loads++;
    if (this.gate !== undefined) await this.gate;
    return {
      id: `${customerId}/${id}`,
      version: this.versions.get(id) ?? 0,
      placedAt: new Date('2026-12-01T10:00:00Z'),
      lines: new Map([['sku-1', 2]]),
      total: new Money(1999n, 'EUR'),
    };
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: Orders) {}

  @Get(':id')
  @Cached({ name: 'order-http', key: '{id}' })
  async get(@Param('id') id: string) {
    const order = await this.orders.find(id, 'c1');
    return { id: order.id, version: order.version };
  }
}

/** A replica of the service: its own Nest application, the same Redis and key prefix. */
function replica(prefix: string, url = redisUrl()): Promise<INestApplication> {
  return bootApp(
    { providers: [Orders], controllers: [OrdersController] },
    {
      core: { redis: url, redisKeyPrefix: prefix, serviceName: 'cache-test' },
      coordination: { cache: { classes: { Money } }, fleet: { commandTimeoutMs: 200 } },
    },
  );
}

async function live(app: INestApplication): Promise<void> {
  const cache = app.get(CacheService);
  await cache.get('warm-up', 'x');
  await waitFor(() => cache.status().localTier, {
    timeoutMs: 10_000,
    message: 'the invalidation feed is live',
  });
}

describe('@Cached on one replica', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  it('runs the method once, and a value read back from Redis keeps Date, Map, BigInt and its class', async () => {
    const prefix = `${uniquePrefix('cache')}:`;
    const [a, b] = (apps = [await replica(prefix), await replica(prefix)]);
    await live(a!);
    const first = await a!.get(Orders).find('1', 'c1');
    const again = await a!.get(Orders).find('1', 'c1');
    expect(again).toBe(first); // in-process tier: the very same object
    // The other replica has no in-process copy: it decodes what Redis holds.
    const shared = await b!.get(Orders).find('1', 'c1');
    expect(a!.get(Orders).loads + b!.get(Orders).loads).toBe(1);
    expect(shared).not.toBe(first);
    expect(shared).toEqual(first);
    expect(shared.placedAt).toBeInstanceOf(Date);
    expect(shared.lines.get('sku-1')).toBe(2);
    expect(shared.total).toBeInstanceOf(Money);
    expect(shared.total.format()).toBe('1999 EUR');
  });

  it('fills 50 concurrent misses with one call, and builds default keys from canonical arguments', async () => {
    const [app] = (apps = [await replica(`${uniquePrefix('cache')}:`)]);
    const orders = app!.get(Orders);
    await live(app!);
    const opened = barrier();
    orders.gate = opened.promise;
    const calls = Array.from({ length: 50 }, () => orders.find('7', 'c1'));
    opened.resolve();
    const results = await Promise.all(calls);
    expect(orders.loads).toBe(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(['c1/7']));
    orders.gate = undefined;

    orders.loads = 0;
    await orders.search({ status: 'open', page: 1 });
    await orders.search({ page: 1, status: 'open' }); // same object, keys in another order
    await orders.search({ status: 'open', page: 2 });
    expect(orders.loads).toBe(2);
  });

  it('caches null only when asked, never undefined', async () => {
    const [app] = (apps = [await replica(`${uniquePrefix('cache')}:`)]);
    const orders = app!.get(Orders);
    await live(app!);
    await orders.maybe('none');
    await orders.maybe('none');
    expect(orders.loads).toBe(2);
    await orders.maybe('x');
    await orders.maybe('x');
    expect(orders.loads).toBe(3);
  });

  it('caches an HTTP handler, and counts hits and misses per cache name', async () => {
    const [app] = (apps = [await replica(`${uniquePrefix('cache')}:`)]);
    await live(app!);
    const server = app!.getHttpServer();
    await request(server).get('/orders/5').expect(200, { id: 'c1/5', version: 0 });
    await request(server).get('/orders/5').expect(200, { id: 'c1/5', version: 0 });
    expect(app!.get(Orders).loads).toBe(1);
    const text = await app!.get(KeelMetrics).render();
    const count = (name: string, result: string) =>
      samples(text, 'keel_cache_requests_total', { name, result })[0]?.value;
    expect(count('order-http', 'miss')).toBe(1);
    expect(count('order-http', 'hit_local')).toBe(1);
    expect(count('order', 'miss')).toBe(1);
    await expect(app!.get(CacheHealthIndicator).check()).resolves.toMatchObject({
      status: 'up',
      details: { store: 'redis', available: true, localTier: true },
    });
  });

  it('does not cache a fallback value, and a hit costs no retry', async () => {
    @Injectable()
    class Flaky {
      calls = 0;
      failing = true;

      @Fallback('fallback')
      @Cached({ key: '{id}' })
      @Retry({ maxAttempts: 2, delayMs: 1 })
      async read(id: string): Promise<string> {
        this.calls++;
        if (this.failing) throw new Error('down');
        return id;
      }

      fallback(): string {
        return 'fallback';
      }
    }
    const app = await bootApp({ providers: [Flaky] });
    apps = [app];
    const flaky = app.get(Flaky);
    await expect(flaky.read('a')).resolves.toBe('fallback');
    expect(flaky.calls).toBe(2);
    flaky.failing = false;
    await expect(flaky.read('a')).resolves.toBe('a');
    await expect(flaky.read('a')).resolves.toBe('a');
    expect(flaky.calls).toBe(3);
  });

  it('serves a stale value at once while one background call refreshes it', async () => {
    @Injectable()
    class Prices {
      calls = 0;
      gate: Promise<void> | undefined;

      @Cached({ key: '{sku}', ttlMs: 20, staleWhileRevalidateMs: 600_000 })
      async price(sku: string): Promise<string> {
        const call = ++this.calls;
        if (this.gate !== undefined) await this.gate;
        return `${sku}@${call}`;
      }
    }
    const app = await bootApp({ providers: [Prices] });
    apps = [app];
    const prices = app.get(Prices);
    const startedAt = Date.now();
    await expect(prices.price('x')).resolves.toBe('x@1');
    await waitFor(() => Date.now() - startedAt > 40, { timeoutMs: 5_000, message: 'stale' });
    // The refresh is held at the gate: stale reads must not wait for it, and only one runs.
    const opened = barrier();
    prices.gate = opened.promise;
    await expect(prices.price('x')).resolves.toBe('x@1');
    await waitFor(() => prices.calls === 2, { timeoutMs: 5_000, message: 'the refresh starts' });
    await expect(prices.price('x')).resolves.toBe('x@1');
    await expect(prices.price('x')).resolves.toBe('x@1');
    expect(prices.calls).toBe(2);
    opened.resolve();
    prices.gate = undefined;
    await waitFor(async () => (await prices.price('x')) === 'x@2', {
      timeoutMs: 5_000,
      message: 'the refreshed value is served',
    });
  });

  it('fails at boot on a synchronous method, an eviction without target, bad options or an unknown placeholder', async () => {
    @Injectable()
    class Sync {
      @Cached()
      read(): string {
        return 'x';
      }
    }
    @Injectable()
    class NoTarget {
      @CacheEvict({})
      async write(): Promise<void> {}
    }
    @Injectable()
    class BadTtl {
      @Cached({ ttlMs: -1 })
      async read(): Promise<string> {
        return 'x';
      }
    }
    @Injectable()
    class BadKey {
      @Cached({ key: '{nope}' })
      async read(id: string): Promise<string> {
        return id;
      }
    }
    const boot = (provider: new () => object) =>
      bootApp({ providers: [provider] }).then(
        (app) => app.close().then(() => 'booted'),
        (error: unknown) => String(error),
      );
    expect(await boot(Sync)).toMatch(/Sync\.read: @Cached needs a method that returns a promise/);
    expect(await boot(NoTarget)).toMatch(/NoTarget\.write: @CacheEvict names no key and no tags/);
    expect(await boot(BadTtl)).toMatch(/BadTtl\.read: @Cached options are invalid: ttlMs/);
    expect(await boot(BadKey)).toMatch(/BadKey\.read.*nope/);
  });
});

describe('@Cached across replicas', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  const fleet = async (count: number): Promise<INestApplication[]> => {
    const prefix = `${uniquePrefix('cache-fleet')}:`;
    apps = await Promise.all(Array.from({ length: count }, () => replica(prefix)));
    await Promise.all(apps.map(live));
    return apps;
  };
  const loads = () => apps.reduce((sum, app) => sum + app.get(Orders).loads, 0);

  it('fills a miss asked for by three replicas at once with one call', async () => {
    await fleet(3);
    const opened = barrier();
    for (const app of apps) app.get(Orders).gate = opened.promise;
    const calls = apps.flatMap((app) =>
      Array.from({ length: 10 }, () => app.get(Orders).find('42', 'c9')),
    );
    // The filler holds the lease until the gate opens; the others poll for its value.
    await waitFor(() => loads() === 1, { timeoutMs: 5_000, message: 'one replica is filling' });
    opened.resolve();
    const results = await Promise.all(calls);
    expect(loads()).toBe(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(['c9/42']));
  });

  it('an eviction or write on one replica drops every replica in-process copy', async () => {
    const [a, b, c] = await fleet(3);
    const read = (app: INestApplication) => app.get(Orders).find('1', 'c1');
    for (const app of apps) app.get(Orders).versions.set('1', 0);
    await Promise.all([read(a!), read(b!), read(c!)]);
    // A write through @CachePut on A: B and C drop their copies and read the new value.
    a!.get(Orders).versions.set('1', 5);
    await a!.get(Orders).bump('1', 'c1');
    await waitFor(async () => (await read(b!)).version === 6 && (await read(c!)).version === 6, {
      timeoutMs: 5_000,
      message: 'B and C see the write',
    });
    // An eviction on B: the next read anywhere loads again.
    const before = loads();
    await b!.get(Orders).cancel('1');
    await waitFor(async () => (await read(c!)).version !== 6, {
      timeoutMs: 5_000,
      message: 'C no longer serves the evicted value',
    });
    expect(loads()).toBe(before + 1);
    // A tag: every order of customer c1, on every replica.
    await read(a!);
    await read(b!);
    const tagged = loads();
    await c!.get(Orders).forgetCustomer('c1');
    await waitFor(async () => (await read(a!), loads() > tagged), {
      timeoutMs: 5_000,
      message: 'the tagged entry is gone on A',
    });
  });

  it('CacheService reads what @Cached wrote and evicts it by the raw key', async () => {
    const [a, b] = await fleet(2);
    const first = await a!.get(Orders).find('a:b', 'c1'); // ':' is escaped by the key template
    const cache = b!.get(CacheService);
    await expect(cache.get<Order>('order', 'a:b')).resolves.toEqual(first);
    await cache.evict('order', 'a:b');
    await expect(cache.get('order', 'a:b')).resolves.toBeUndefined();
    await cache.set('greeting', 'en', { text: 'hello' }, { tags: ['lang'] });
    await expect(a!.get(CacheService).get('greeting', 'en')).resolves.toEqual({ text: 'hello' });
    await a!.get(CacheService).evictTags(['lang']);
    // B drops its in-process copy when A's invalidation arrives (pub/sub, milliseconds).
    await waitFor(async () => (await cache.get('greeting', 'en')) === undefined, {
      timeoutMs: 5_000,
      message: 'B drops the tagged entry',
    });
    await expect(cache.wrap('w', 'k', () => Promise.resolve(1))).resolves.toBe(1);
    await expect(cache.wrap('w', 'k', () => Promise.resolve(2))).resolves.toBe(1);
  });
});

describe('@Cached store and codec choices', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  @Injectable()
  class Sessions {
    loads = 0;

    @Cached({ name: 'session', key: '{id}', store: 'memory' })
    async find(id: string): Promise<{ id: string; loadedBy: number }> {
      this.loads++;
      return { id, loadedBy: this.loads };
    }
  }

  it("store: 'memory' keeps a cache in process even when Redis is there", async () => {
    const prefix = `${uniquePrefix('cache-memory')}:`;
    const boot = () =>
      bootApp(
        { providers: [Sessions] },
        { core: { redis: redisUrl(), redisKeyPrefix: prefix, serviceName: 'cache-test' } },
      );
    const [a, b] = (apps = [await boot(), await boot()]);
    await a!.get(Sessions).find('s1');
    await a!.get(Sessions).find('s1');
    await b!.get(Sessions).find('s1');
    // Each replica loaded it once: nothing went through Redis.
    expect(a!.get(Sessions).loads).toBe(1);
    expect(b!.get(Sessions).loads).toBe(1);
    await expect(b!.get(CacheService).get('session', 's1')).resolves.toEqual({
      id: 's1',
      loadedBy: 1,
    });
    await a!.get(CacheService).evict('session', 's1');
    await a!.get(Sessions).find('s1');
    expect(a!.get(Sessions).loads).toBe(2);
  });

  it("store: 'redis' without Redis fails at boot", async () => {
    @Injectable()
    class Shared {
      @Cached({ store: 'redis' })
      async read(): Promise<string> {
        return 'x';
      }
    }
    await expect(bootApp({ providers: [Shared] })).rejects.toThrow(
      /Shared\.read: @Cached store: 'redis' asks for Redis, but KeelCoreModule has none/,
    );
  });

  it('a user codec encodes what goes to Redis and decodes what comes back', async () => {
    const encoded: string[] = [];
    const codec = {
      encode: (value: unknown) => {
        const payload = `b64:${Buffer.from(JSON.stringify(value)).toString('base64')}`;
        encoded.push(payload);
        return payload;
      },
      decode: (payload: string) =>
        JSON.parse(Buffer.from(payload.slice(4), 'base64').toString()) as unknown,
    };
    const prefix = `${uniquePrefix('cache-codec')}:`;
    const boot = () =>
      bootApp(
        { providers: [] },
        {
          core: { redis: redisUrl(), redisKeyPrefix: prefix, serviceName: 'cache-test' },
          coordination: { cache: { codec } },
        },
      );
    const [a, b] = (apps = [await boot(), await boot()]);
    await a!.get(CacheService).set('doc', '1', { title: 'hello' });
    expect(encoded).toHaveLength(1);
    expect(encoded[0]).toMatch(/^b64:/);
    await expect(b!.get(CacheService).get('doc', '1')).resolves.toEqual({ title: 'hello' });
  });

  it('a codec without decode stops startup naming the key', async () => {
    await expect(
      bootApp(
        { providers: [] },
        { coordination: { cache: { codec: { encode: () => '' } as never } } },
      ),
    ).rejects.toThrow(/cache\.codec.*encode\(value\) and decode\(payload\)/);
  });
});

describe('@Cached when Redis goes away', () => {
  let redis: RedisServerHandle | undefined;
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
    await redis?.stop();
    redis = undefined;
  });

  it('runs calls uncached while Redis is down, reports degraded, and caches again with an empty in-process tier', async () => {
    redis = await startRedisServer();
    const prefix = `${uniquePrefix('cache-fault')}:`;
    const [a, b] = (apps = [await replica(prefix, redis.url), await replica(prefix, redis.url)]);
    await live(a!);
    await live(b!);
    const orders = a!.get(Orders);
    await orders.find('1', 'c1');
    await orders.find('1', 'c1');
    expect(orders.loads).toBe(1);
    await redis.stop();
    // The feed is down: the in-process copy is no longer trusted; calls run and succeed.
    await waitFor(() => !a!.get(CacheService).status().localTier, {
      timeoutMs: 10_000,
      message: 'A notices the feed is down',
    });
    await expect(orders.find('1', 'c1')).resolves.toMatchObject({ id: 'c1/1' });
    await expect(orders.find('1', 'c1')).resolves.toMatchObject({ id: 'c1/1' });
    expect(orders.loads).toBe(3);
    await expect(a!.get(CacheHealthIndicator).check()).resolves.toMatchObject({
      status: 'degraded',
    });
    const text = await a!.get(KeelMetrics).render();
    expect(
      samples(text, 'keel_cache_requests_total', { name: 'order', result: 'bypassed' })[0]?.value,
    ).toBeGreaterThan(0);
    // While A was cut off, B could not tell it anything: A must start empty.
    await redis.start();
    await waitFor(() => a!.get(CacheService).status().localTier, {
      timeoutMs: 15_000,
      message: 'A rejoins the feed',
    });
    expect(a!.get(CacheService).status().entries).toBe(0);
    await waitFor(
      async () => {
        await orders.find('2', 'c1');
        const loaded = orders.loads;
        await orders.find('2', 'c1');
        return orders.loads === loaded;
      },
      { timeoutMs: 15_000, message: 'caching resumes' },
    );
    await expect(a!.get(CacheHealthIndicator).check()).resolves.toMatchObject({ status: 'up' });
  });
});
