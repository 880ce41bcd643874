import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { z } from 'zod';
import { KeelConfigError, KeelDecoratorError } from '@keel/core';
import {
  BreakerStore,
  Bulkhead,
  BulkheadRejectedError,
  CircuitBreaker,
  Fallback,
  Timeout,
  TimeoutError,
  Validate,
  ValidationFailedError,
  timeoutSignal,
} from '@keel/coordination';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { settlesWithin } from '../../../test/support/wait-for.js';
import { barrier, bootApp, pause, slotRefusals } from './support.js';

class Unavailable extends Error {}

describe('policies in detail', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
  });
  const boot = async (...args: Parameters<typeof bootApp>) => {
    const app = await bootApp(...args);
    apps.push(app);
    return app;
  };

  it('@Fallback: a value or a method (original arguments, then the error), only for the errors in `on`', async () => {
    @Injectable()
    class Quotes {
      @Fallback('fromCache', { on: [Unavailable] })
      async quote(symbol: string, fail: 'unavailable' | 'bug') {
        throw fail === 'unavailable' ? new Unavailable('down') : new TypeError('bug');
      }

      @Fallback([])
      list(): string[] {
        throw new Error('x');
      }

      fromCache(symbol: string, fail: string, error: unknown) {
        return { symbol, cached: true, error: (error as Error).message, fail };
      }
    }
    const quotes = (await boot({ providers: [Quotes] })).get(Quotes);
    await expect(quotes.quote('ACME', 'unavailable')).resolves.toEqual({
      symbol: 'ACME',
      cached: true,
      error: 'down',
      fail: 'unavailable',
    });
    await expect(quotes.quote('ACME', 'bug')).rejects.toThrow(TypeError);
    expect(quotes.list()).toEqual([]); // a sync method stays sync
  });

  it('@Fallback never hides validation errors by default', async () => {
    @Injectable()
    class Orders {
      @Fallback('nothing')
      @Validate(z.string().min(3))
      async find(id: string) {
        return id;
      }
      nothing() {
        return null;
      }
    }
    const orders = (await boot({ providers: [Orders] })).get(Orders);
    await expect(orders.find('x')).rejects.toBeInstanceOf(ValidationFailedError);
  });

  it('@Fallback naming no method fails at startup', async () => {
    @Injectable()
    class Broken {
      @Fallback('missing')
      async run() {}
    }
    await expect(boot({ providers: [Broken] })).rejects.toThrow(
      /Broken\.run: @Fallback\('missing'\) names no method of Broken/,
    );
  });

  it('@Validate: whole argument list, and per parameter by name and position', async () => {
    @Injectable()
    class Transfers {
      @Validate({ args: z.tuple([z.string(), z.string(), z.coerce.number().positive()]) })
      async move(from: string, to: string, amount: number) {
        return { from, to, amount };
      }

      @Validate({ params: { amount: z.number().positive(), 0: z.string().length(3) } })
      async pay(currency: string, amount: number) {
        return { currency, amount };
      }
    }
    const t = (await boot({ providers: [Transfers] })).get(Transfers);
    await expect(t.move('a', 'b', '5' as unknown as number)).resolves.toEqual({
      from: 'a',
      to: 'b',
      amount: 5,
    });
    const error = (await t
      .move('a', 1 as unknown as string, -1)
      .catch((e: unknown) => e)) as ValidationFailedError;
    expect(error.problems.map((p) => p.path)).toEqual(['1', '2']);
    const pay = (await t.pay('EURO', -1).catch((e: unknown) => e)) as ValidationFailedError;
    expect(pay.problems.map((p) => p.path).sort()).toEqual(['amount', 'currency']);
  });

  it('@Validate() without a DTO parameter and a parameter name that does not exist fail at startup', async () => {
    @Injectable()
    class Broken {
      @Validate()
      async a(id: string) {
        return id;
      }
      @Validate({ params: { nope: z.string() } })
      async b(id: string) {
        return id;
      }
    }
    const message = String(
      await boot({ providers: [Broken] }).catch((e: unknown) => (e as Error).message),
    );
    expect(message).toMatch(/Broken\.a: @Validate\(\) found no DTO class/);
    expect(message).toMatch(
      /Broken\.b: @Validate names parameter 'nope', which b\(id\) does not have/,
    );
  });

  it('@Timeout: timeoutSignal() before the first await, or anywhere with signalInContext', async () => {
    const seen: (AbortSignal | undefined)[] = [];
    @Injectable()
    class Work {
      @Timeout(30)
      async early() {
        const signal = timeoutSignal();
        seen.push(signal);
        await pause(5_000, signal);
      }

      @Timeout(30)
      async late() {
        await pause(1);
        seen.push(timeoutSignal());
        return 'no signal after the first await';
      }

      @Timeout({ ms: 30, signalInContext: true })
      async anywhere() {
        await pause(1);
        const signal = timeoutSignal();
        seen.push(signal);
        await pause(5_000, signal);
      }
    }
    const work = (await boot({ providers: [Work] })).get(Work);
    await expect(work.early()).rejects.toBeInstanceOf(TimeoutError);
    expect(seen[0]?.aborted).toBe(true);
    await expect(work.late()).resolves.toBe('no signal after the first await');
    expect(seen[1]).toBeUndefined();
    await expect(work.anywhere()).rejects.toBeInstanceOf(TimeoutError);
    expect(seen[2]?.aborted).toBe(true);
    expect(timeoutSignal()).toBeUndefined();
  });

  it('@Bulkhead: queue with timeout; methods naming one bulkhead share it', async () => {
    @Injectable()
    class Reports {
      @Bulkhead({ name: 'reports', maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50 })
      async render(hold: Promise<void>) {
        await hold;
        return 'rendered';
      }

      @Bulkhead({ name: 'reports', maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50 })
      async export() {
        return 'exported';
      }
    }
    const reports = (await boot({ providers: [Reports] })).get(Reports);
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const running = reports.render(hold);
    const queued = reports.export().catch((e: unknown) => e);
    await expect(reports.export()).rejects.toMatchObject({ reason: 'full' });
    expect(await queued).toMatchObject({ reason: 'queue-timeout' });
    const waiting = reports.export();
    release();
    await expect(running).resolves.toBe('rendered');
    await expect(waiting).resolves.toBe('exported');
  });

  it("@Bulkhead scope 'fleet': the limit spans applications sharing Redis", async () => {
    @Injectable()
    class Imports {
      @Bulkhead({
        name: 'imports',
        scope: 'fleet',
        maxConcurrent: 1,
        maxQueue: 5,
        queueTimeoutMs: 5_000,
      })
      async run(hold: Promise<void>, entered: () => void = () => undefined) {
        entered();
        await hold;
        return 'done';
      }
    }
    const core = {
      redis: redisUrl(),
      redisKeyPrefix: `${uniquePrefix('bulkhead')}:`,
      serviceName: 'bulkhead-test',
    };
    const [a, b] = [
      await boot({ providers: [Imports] }, { core }),
      await boot({ providers: [Imports] }, { core }),
    ];
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const entered = barrier();
    const first = a.get(Imports).run(hold, entered.resolve);
    await entered.promise; // a holds the fleet slot
    const refused = slotRefusals(b, core.redis);
    let secondDone = false;
    const second = b
      .get(Imports)
      .run(Promise.resolve())
      .then((v) => {
        secondDone = true;
        return v;
      });
    // b asked Redis for a slot and was told the fleet is full.
    await settlesWithin(refused.next(), 5_000, "Redis refusing b's slot request");
    expect(secondDone).toBe(false); // waiting for the slot a holds in the other application
    release();
    await expect(first).resolves.toBe('done');
    await expect(second).resolves.toBe('done');
  });

  it("@Bulkhead scope 'fleet': full queue → BulkheadRejectedError", async () => {
    @Injectable()
    class Exports {
      @Bulkhead({
        name: 'exports',
        scope: 'fleet',
        maxConcurrent: 1,
        maxQueue: 0,
        queueTimeoutMs: 100,
      })
      async run(hold: Promise<void>, entered: () => void = () => undefined) {
        entered();
        await hold;
      }
    }
    const core = {
      redis: redisUrl(),
      redisKeyPrefix: `${uniquePrefix('bulkhead')}:`,
      serviceName: 'bulkhead-test',
    };
    const app = await boot({ providers: [Exports] }, { core });
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const entered = barrier();
    const first = app.get(Exports).run(hold, entered.resolve);
    await entered.promise; // the first call holds the only slot
    await expect(app.get(Exports).run(Promise.resolve())).rejects.toBeInstanceOf(
      BulkheadRejectedError,
    );
    release();
    await first;
  });

  it("store 'redis' without Redis configured: startup fails with the message every lib gives", async () => {
    @Injectable()
    class Search {
      @CircuitBreaker({ name: 'search', store: 'redis', consecutiveFailures: 2 })
      async find() {
        throw new Error('index down');
      }
    }
    // Inline options are checked when the pipeline is built, so the line comes with the other
    // decorator problems (core's explorer reports them together, as a KeelDecoratorError).
    const error = await boot({ providers: [Search] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelDecoratorError);
    expect((error as Error).message).toContain(
      "Search.find: @CircuitBreaker store: 'redis' needs Redis, and none is configured; set REDIS_URL (or KEEL_REDIS_URL), pass KeelCoreModule.forRoot({ redis }), or leave the option out to use the embedded memory store",
    );
    // The same breaker from a named policy is refused with the settings, naming the policy.
    const named = await boot(
      { providers: [] },
      { coordination: { policies: { search: { circuitBreaker: { store: 'redis' } } } } },
    ).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(KeelConfigError);
    expect((named as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^CoordinationModule\.policies\.search\.circuitBreaker\.store \(forRoot\): 'redis' needs Redis/,
      ),
    ]);
  });

  it('shares fleet breakers in Redis when KeelCoreModule has it, in the embedded memory store otherwise', async () => {
    const withRedis = await boot(
      { providers: [] },
      { core: { redis: redisUrl(), redisKeyPrefix: `${uniquePrefix('store')}:` } },
    );
    expect(withRedis.get(BreakerStore).kind).toBe('redis');
    const without = await boot({ providers: [] });
    expect(without.get(BreakerStore).kind).toBe('memory');
  });

  it('a breaker shared by name must have one configuration', async () => {
    @Injectable()
    class Twice {
      @CircuitBreaker({ name: 'shared', consecutiveFailures: 2 })
      async a() {}
      @CircuitBreaker({ name: 'shared', consecutiveFailures: 3 })
      async b() {}
    }
    const error = await boot({ providers: [Twice] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelDecoratorError);
    expect((error as Error).message).toMatch(
      /Twice\.b: @CircuitBreaker 'shared' is already declared by Twice\.a with different options/,
    );
  });
});
