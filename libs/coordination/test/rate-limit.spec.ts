import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { KeelMetrics, RequestContext } from '@keel/core';
import {
  CircuitBreaker,
  RateLimit,
  RateLimitedError,
  RateLimitHealthIndicator,
  Retry,
  currentRateLimit,
  isRateLimitedError,
  type RateLimitState,
} from '@keel/coordination';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { samples } from '../../../test/support/metric-samples.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { bootApp } from './support.js';

const MINUTE = 60_000;

@Injectable()
class Psp {
  calls = 0;

  @RateLimit({ limit: 2, perMs: MINUTE, burst: 1, stateInContext: true })
  async charge(): Promise<RateLimitState | undefined> {
    this.calls++;
    return currentRateLimit();
  }

  @RateLimit({ limit: 1, perMs: MINUTE, key: 'account:{accountId}' })
  async refund(accountId: string): Promise<string> {
    return accountId;
  }

  @RateLimit({ limit: 1, perMs: MINUTE, per: 'tenant' })
  async report(): Promise<string | undefined> {
    return RequestContext.tenant();
  }

  @RateLimit({ limit: 5, perMs: MINUTE })
  async quiet(): Promise<RateLimitState | undefined> {
    return currentRateLimit();
  }

  @RateLimit({ limit: 1, perMs: MINUTE })
  ping(): string {
    return 'pong';
  }

  /** 20 per second: one turn every 50 ms; a turn more than 120 ms away is refused. */
  @RateLimit({ limit: 20, perMs: 1_000, mode: 'wait', maxWaitMs: 120, stateInContext: true })
  async queued(): Promise<RateLimitState | undefined> {
    return currentRateLimit();
  }
}

@Controller('search')
class SearchController {
  @Get()
  @RateLimit({ name: 'search', limit: 1, perMs: MINUTE, per: 'ip' })
  search() {
    return { hits: [] };
  }
}

describe('@RateLimit in one process', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('allows limit + burst calls, then refuses with RateLimitedError naming the limit and when to retry', async () => {
    app = await bootApp({ providers: [Psp] });
    const psp = app.get(Psp);
    const first = await psp.charge();
    expect(first).toMatchObject({ limit: 'Psp.charge', quota: 2, perMs: MINUTE, waitedMs: 0 });
    await psp.charge();
    const refused = await psp.charge().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRateLimitedError(refused)).toBe(true);
    expect(refused).toBeInstanceOf(RateLimitedError);
    const error = refused as RateLimitedError;
    expect(error).toMatchObject({ code: 'KEEL_RATE_LIMITED', status: 429, limit: 'Psp.charge' });
    // Two at once (limit 2 spaced 30 s apart, plus a burst of 1); the next turn is one
    // emission interval (30 s) after the first call.
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(error.message).toMatch(/rate limit 'Psp.charge' \(2 per 60000 ms\) refused the call/);
    expect(psp.calls).toBe(2);
    // Without stateInContext the decision is not bound (no context frame per call).
    await expect(psp.quiet()).resolves.toBeUndefined();
  });

  it('keeps one budget per key template value and per request-context tenant', async () => {
    app = await bootApp({ providers: [Psp] });
    const psp = app.get(Psp);
    await expect(psp.refund('a')).resolves.toBe('a');
    await expect(psp.refund('b')).resolves.toBe('b');
    await expect(psp.refund('a')).rejects.toMatchObject({ code: 'KEEL_RATE_LIMITED' });
    const asTenant = (tenant: string | undefined) =>
      RequestContext.run(tenant === undefined ? {} : { tenant }, () => psp.report());
    await expect(asTenant('acme')).resolves.toBe('acme');
    await expect(asTenant('globex')).resolves.toBe('globex');
    await expect(asTenant('acme')).rejects.toMatchObject({ code: 'KEEL_RATE_LIMITED' });
    // No tenant: one shared bucket, apart from every tenant's.
    await expect(asTenant(undefined)).resolves.toBeUndefined();
    await expect(asTenant(undefined)).rejects.toMatchObject({ code: 'KEEL_RATE_LIMITED' });
  });

  it('throws synchronously from a synchronous method', async () => {
    app = await bootApp({ providers: [Psp] });
    const psp = app.get(Psp);
    expect(psp.ping()).toBe('pong');
    expect(() => psp.ping()).toThrow(RateLimitedError);
  });

  it('wait mode schedules calls one interval apart and refuses a turn beyond maxWaitMs', async () => {
    app = await bootApp({ providers: [Psp] });
    const psp = app.get(Psp);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () =>
        psp.queued().then(
          (state) => state,
          (error: unknown) => error,
        ),
      ),
    );
    const states = outcomes.slice(0, 3) as RateLimitState[];
    const gaps = states.slice(1).map((s, i) => s.at - states[i]!.at);
    for (const gap of gaps) expect(gap).toBeCloseTo(50, 1);
    // Each waited for its turn less the time since the first decision (the four decisions may
    // be spread over a few ms on a loaded machine): 0, then up to 50, then up to 100.
    const waited = states.map((s) => s.waitedMs);
    expect(waited[0]).toBe(0);
    expect(waited[1]).toBeGreaterThan(0);
    expect(waited[1]).toBeLessThanOrEqual(50.01);
    expect(waited[2]).toBeGreaterThan(waited[1]!);
    expect(waited[2]).toBeLessThanOrEqual(100.01);
    expect(outcomes[3]).toMatchObject({ code: 'KEEL_RATE_LIMITED' });
    const metrics = await app.get(KeelMetrics).render();
    const calls = (outcome: string) =>
      samples(metrics, 'keel_rate_limit_calls_total', { name: 'Psp.queued', outcome })[0]?.value;
    expect([calls('allowed'), calls('waited'), calls('limited')]).toEqual([1, 2, 1]);
    expect(
      samples(metrics, 'keel_rate_limit_wait_seconds_count', { name: 'Psp.queued' })[0]?.value,
    ).toBe(2);
  });

  it('answers HTTP 429 with Retry-After and the IETF RateLimit headers, one budget per client IP', async () => {
    app = await bootApp({ controllers: [SearchController] });
    const server = app.getHttpServer();
    await request(server).get('/search').expect(200);
    const refused = await request(server).get('/search').expect(429);
    expect(refused.body).toMatchObject({
      statusCode: 429,
      code: 'KEEL_RATE_LIMITED',
      limit: 'search',
    });
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.headers['ratelimit']).toBe('"search";r=0;t=60');
    expect(refused.headers['ratelimit-policy']).toBe('"search";q=1;w=60');
  });

  it('a rate-limited call is retried by @Retry and ignored by the breaker', async () => {
    @Injectable()
    class Gateway {
      calls = 0;
      @Retry({ maxAttempts: 3, delayMs: 60, backoff: 'constant' })
      @CircuitBreaker({ name: 'gw', consecutiveFailures: 1 })
      @RateLimit({ limit: 20, perMs: 1_000 })
      async call() {
        return ++this.calls;
      }
    }
    app = await bootApp({ providers: [Gateway] });
    const gateway = app.get(Gateway);
    // The second call is refused at once (50 ms turns), then retried 60 ms later and allowed;
    // the refusal did not open the breaker (it would refuse the retry).
    const [a, b] = await Promise.all([gateway.call(), gateway.call()]);
    expect([a, b].sort()).toEqual([1, 2]);
  });

  it('named limits come from configuration and extend the default policy', async () => {
    @Injectable()
    class Mailer {
      @RateLimit('mail')
      async send() {
        return currentRateLimit();
      }
    }
    app = await bootApp(
      { providers: [Mailer] },
      {
        coordination: {
          policies: {
            default: { rateLimit: { perMs: MINUTE } },
            mail: { rateLimit: { limit: 3, burst: 2, stateInContext: true } },
          },
        },
      },
    );
    await expect(app.get(Mailer).send()).resolves.toMatchObject({
      limit: 'mail',
      quota: 3,
      perMs: MINUTE,
      remaining: 2,
    });
  });

  it('misuse fails at startup, naming class and method', async () => {
    const boot = async (cls: new () => object) =>
      bootApp({ providers: [cls] }).then(
        (booted) => booted.close().then(() => 'booted'),
        (error: unknown) => (error as Error).message,
      );
    @Injectable()
    class NoLimit {
      @RateLimit({ perMs: 1_000 })
      async a() {}
    }
    @Injectable()
    class SyncWait {
      @RateLimit({ limit: 1, mode: 'wait' })
      a() {}
    }
    @Injectable()
    class SyncFleet {
      @RateLimit({ limit: 1, scope: 'fleet' })
      a() {}
    }
    @Injectable()
    class BadKey {
      @RateLimit({ limit: 1, key: '{nope}' })
      async a(id: string) {
        return id;
      }
    }
    @Injectable()
    class Twice {
      @RateLimit({ name: 'shared', limit: 1 })
      async a() {}
      @RateLimit({ name: 'shared', limit: 2 })
      async b() {}
    }
    expect(await boot(NoLimit)).toMatch(/NoLimit\.a: @RateLimit has no limit/);
    expect(await boot(SyncWait)).toMatch(/SyncWait\.a: @RateLimit mode: 'wait' has to wait/);
    expect(await boot(SyncFleet)).toMatch(/SyncFleet\.a: @RateLimit scope: 'fleet' asks Redis/);
    expect(await boot(BadKey)).toMatch(/BadKey\.a.*nope/);
    expect(await boot(Twice)).toMatch(/@RateLimit 'shared' is declared with other options/);
  });
});

describe('fleet @RateLimit when Redis goes away', () => {
  let redis: RedisServerHandle | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('decides on the per-process insurance limit while Redis is down, reports degraded, and rejoins', async () => {
    @Injectable()
    class Psp {
      @RateLimit({
        name: 'psp',
        limit: 100,
        perMs: MINUTE,
        scope: 'fleet',
        burst: 1,
        insuranceLimit: 2,
        stateInContext: true,
      })
      async charge() {
        return currentRateLimit();
      }
    }
    redis = await startRedisServer();
    app = await bootApp(
      { providers: [Psp] },
      {
        core: { redis: redis.url, redisKeyPrefix: `${uniquePrefix('rate-fault')}:` },
        coordination: { fleet: { commandTimeoutMs: 200 } },
      },
    );
    const psp = app.get(Psp);
    const health = app.get(RateLimitHealthIndicator);
    await expect(psp.charge()).resolves.toMatchObject({ insurance: false, remaining: 1 });
    await expect(health.check()).resolves.toMatchObject({ status: 'up' });
    await redis.stop();
    // Insurance: two calls per minute in this process, then refusals; never a Redis error.
    await expect(psp.charge()).resolves.toMatchObject({ insurance: true });
    await expect(psp.charge()).resolves.toMatchObject({ insurance: true });
    await expect(psp.charge()).rejects.toMatchObject({ code: 'KEEL_RATE_LIMITED' });
    await expect(health.check()).resolves.toMatchObject({
      status: 'degraded',
      details: { limits: { psp: { scope: 'fleet', available: false } } },
    });
    const metrics = await app.get(KeelMetrics).render();
    expect(samples(metrics, 'keel_rate_limit_store_available', { name: 'psp' })[0]?.value).toBe(0);
    await redis.start();
    await waitFor(async () => (await psp.charge().catch(() => undefined))?.insurance === false, {
      timeoutMs: 15_000,
      message: 'the limit decides in Redis again',
    });
    await expect(health.check()).resolves.toMatchObject({ status: 'up' });
  });
});
