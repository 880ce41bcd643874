import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { z } from 'zod';
import { KeelMetrics } from '@keel/core';
import {
  Bulkhead,
  CircuitBreaker,
  CircuitBreakerRegistry,
  Timed,
  Timeout,
  Validate,
  timeoutSignal,
} from '@keel/coordination';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { sampleValue, type SampleLabels } from '../../../test/support/metric-samples.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { barrier, bootApp, pause, type Barrier } from './support.js';

/**
 * Each coordination metric the README's table lists, read from the application's registry as
 * `/metrics` serves it, before and after the behaviour it counts.
 */
describe('coordination metrics change as the policies act', () => {
  let apps: INestApplication[] = [];
  let redis: RedisServerHandle | undefined;
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
    await redis?.stop();
    redis = undefined;
  });
  const boot = async (...args: Parameters<typeof bootApp>) => {
    const app = await bootApp(...args);
    apps.push(app);
    return app;
  };
  /** The current value of one series; a labelled series not yet created reads as 0. */
  const metric = async (app: INestApplication, name: string, labels: SampleLabels = {}) =>
    sampleValue(await app.get(KeelMetrics).render(), name, labels) ?? 0;

  it('keel_timeouts_total counts each call that reached its deadline, and only those', async () => {
    @Injectable()
    class Work {
      @Timeout(20)
      async slow() {
        await pause(10_000, timeoutSignal());
      }

      @Timeout(10_000)
      async fast() {
        return 'done';
      }
    }
    const app = await boot({ providers: [Work] });
    const work = app.get(Work);
    await expect(work.fast()).resolves.toBe('done');
    expect(await metric(app, 'keel_timeouts_total', { name: 'Work.fast' })).toBe(0);
    expect(await metric(app, 'keel_timeouts_total', { name: 'Work.slow' })).toBe(0);
    await expect(work.slow()).rejects.toMatchObject({ code: 'KEEL_TIMEOUT' });
    expect(await metric(app, 'keel_timeouts_total', { name: 'Work.slow' })).toBe(1);
    await expect(work.slow()).rejects.toMatchObject({ code: 'KEEL_TIMEOUT' });
    expect(await metric(app, 'keel_timeouts_total', { name: 'Work.slow' })).toBe(2);
    expect(await metric(app, 'keel_timeouts_total', { name: 'Work.fast' })).toBe(0);
  });

  it('keel_validation_failures_total counts rejected calls, sync and async, not valid ones', async () => {
    @Injectable()
    class Orders {
      @Validate(z.string().min(3))
      async find(id: string) {
        return id;
      }

      @Validate(z.number().int())
      count(n: number) {
        return n;
      }
    }
    const app = await boot({ providers: [Orders] });
    const orders = app.get(Orders);
    await expect(orders.find('abc')).resolves.toBe('abc');
    expect(orders.count(3)).toBe(3);
    expect(await metric(app, 'keel_validation_failures_total', { name: 'Orders.find' })).toBe(0);
    await expect(orders.find('x')).rejects.toMatchObject({ code: 'KEEL_VALIDATION_FAILED' });
    await expect(orders.find('')).rejects.toMatchObject({ code: 'KEEL_VALIDATION_FAILED' });
    expect(() => orders.count(1.5)).toThrow(
      expect.objectContaining({ code: 'KEEL_VALIDATION_FAILED' }),
    );
    expect(await metric(app, 'keel_validation_failures_total', { name: 'Orders.find' })).toBe(2);
    expect(await metric(app, 'keel_validation_failures_total', { name: 'Orders.count' })).toBe(1);
  });

  it('keel_bulkhead_active follows the slots held; keel_bulkhead_rejected_total counts by reason', async () => {
    const entered: Barrier[] = [];
    @Injectable()
    class Reports {
      @Bulkhead({ name: 'reports', maxConcurrent: 2, maxQueue: 1, queueTimeoutMs: 50 })
      async render(hold: Promise<void>) {
        entered.shift()?.resolve();
        await hold;
        return 'rendered';
      }
    }
    const app = await boot({ providers: [Reports] });
    const reports = app.get(Reports);
    const active = () => metric(app, 'keel_bulkhead_active', { name: 'reports' });
    const rejected = (reason: string) =>
      metric(app, 'keel_bulkhead_rejected_total', { name: 'reports', reason });
    expect(await active()).toBe(0);
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const running: Promise<string>[] = [];
    for (let i = 1; i <= 2; i++) {
      const inside = barrier();
      entered.push(inside);
      running.push(reports.render(hold));
      await inside.promise;
      expect(await active()).toBe(i);
    }
    // The queue holds one waiter; it times out. Then one waits while another finds the queue full.
    await expect(reports.render(hold)).rejects.toMatchObject({ reason: 'queue-timeout' });
    expect(await rejected('queue-timeout')).toBe(1);
    expect(await rejected('full')).toBe(0);
    const waiting = reports.render(hold).catch((e: unknown) => e);
    await expect(reports.render(hold)).rejects.toMatchObject({ reason: 'full' });
    expect(await rejected('full')).toBe(1);
    expect(await waiting).toMatchObject({ reason: 'queue-timeout' });
    expect(await rejected('queue-timeout')).toBe(2);
    expect(await active()).toBe(2);
    release();
    await expect(Promise.all(running)).resolves.toEqual(['rendered', 'rendered']);
    expect(await active()).toBe(0);
    // Scraping twice does not count twice.
    expect(await rejected('queue-timeout')).toBe(2);
    expect(await rejected('full')).toBe(1);
  });

  it("keel_bulkhead_active and keel_bulkhead_rejected_total for scope 'fleet' on Redis", async () => {
    const entered = barrier();
    @Injectable()
    class Imports {
      @Bulkhead({ name: 'imports', scope: 'fleet', maxConcurrent: 1, queueTimeoutMs: 100 })
      async run(hold: Promise<void>) {
        entered.resolve();
        await hold;
        return 'imported';
      }
    }
    const core = {
      redis: redisUrl(),
      redisKeyPrefix: `${uniquePrefix('bulkhead-metrics')}:`,
      serviceName: 'metrics-test',
    };
    const app = await boot({ providers: [Imports] }, { core });
    const imports = app.get(Imports);
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const first = imports.run(hold);
    await entered.promise;
    expect(await metric(app, 'keel_bulkhead_active', { name: 'imports' })).toBe(1);
    await expect(imports.run(hold)).rejects.toMatchObject({ reason: 'full' });
    expect(
      await metric(app, 'keel_bulkhead_rejected_total', { name: 'imports', reason: 'full' }),
    ).toBe(1);
    release();
    await expect(first).resolves.toBe('imported');
    expect(await metric(app, 'keel_bulkhead_active', { name: 'imports' })).toBe(0);
  });

  it('keel_breaker_store_available: 1 while fleet breakers reach Redis, 0 when it stops, 1 after it restarts', async () => {
    @Injectable()
    class Payments {
      @CircuitBreaker({ name: 'payments', store: 'redis' })
      async charge() {
        return 'charged';
      }
    }
    redis = await startRedisServer();
    const app = await boot(
      { providers: [Payments] },
      {
        core: {
          redis: redis.url,
          redisKeyPrefix: `${uniquePrefix('store-available')}:`,
          serviceName: 'metrics-test',
        },
        coordination: { fleet: { commandTimeoutMs: 200, refreshIntervalMs: 200 } },
      },
    );
    const available = () => metric(app, 'keel_breaker_store_available');
    const registry = app.get(CircuitBreakerRegistry);
    await waitFor(() => registry.fleetStatus().available, { message: 'joined the fleet' });
    expect(await available()).toBe(1);
    await redis.stop();
    await waitFor(async () => (await available()) === 0, {
      message: 'keel_breaker_store_available 0 after Redis stopped',
    });
    expect(registry.fleetStatus().available).toBe(false);
    await expect(app.get(Payments).charge()).resolves.toBe('charged');
    await redis.start();
    await waitFor(async () => (await available()) === 1, {
      timeoutMs: 15_000,
      message: 'keel_breaker_store_available 1 after Redis restarted',
    });
  });

  it('@Timed labels each failure with its Keel error code as outcome', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const entered = barrier();
    @Injectable()
    class Api {
      @Timed('api.validate')
      @Validate(z.string().min(3))
      async validate(id: string) {
        return id;
      }

      @Timed('api.timeout')
      @Timeout(20)
      async timeout() {
        await pause(10_000, timeoutSignal());
      }

      @Timed('api.breaker')
      @CircuitBreaker({ name: 'api-breaker', consecutiveFailures: 1, openDurationMs: 60_000 })
      async breaker(): Promise<never> {
        throw new Error('backend down');
      }

      @Timed('api.bulkhead')
      @Bulkhead({ name: 'api-bulkhead', maxConcurrent: 1 })
      async bulkhead() {
        entered.resolve();
        await hold;
        return 'done';
      }
    }
    const app = await boot({ providers: [Api] });
    const api = app.get(Api);
    const count = (name: string, outcome: string) =>
      metric(app, 'keel_method_duration_seconds_count', { name, outcome });

    await expect(api.validate('abc')).resolves.toBe('abc');
    await expect(api.validate('x')).rejects.toMatchObject({ code: 'KEEL_VALIDATION_FAILED' });
    await expect(api.timeout()).rejects.toMatchObject({ code: 'KEEL_TIMEOUT' });
    await expect(api.breaker()).rejects.toThrow('backend down');
    await expect(api.breaker()).rejects.toMatchObject({ code: 'KEEL_CIRCUIT_OPEN' });
    const running = api.bulkhead();
    await entered.promise;
    await expect(api.bulkhead()).rejects.toMatchObject({ code: 'KEEL_BULKHEAD_REJECTED' });
    release();
    await expect(running).resolves.toBe('done');

    expect(await count('api.validate', 'success')).toBe(1);
    expect(await count('api.validate', 'KEEL_VALIDATION_FAILED')).toBe(1);
    expect(await count('api.timeout', 'KEEL_TIMEOUT')).toBe(1);
    // A plain error is `error`, never its message; the refusal is the breaker's code.
    expect(await count('api.breaker', 'error')).toBe(1);
    expect(await count('api.breaker', 'KEEL_CIRCUIT_OPEN')).toBe(1);
    expect(await count('api.bulkhead', 'KEEL_BULKHEAD_REJECTED')).toBe(1);
    expect(await count('api.bulkhead', 'success')).toBe(1);
    expect(await app.get(KeelMetrics).render()).not.toContain('backend down');
  });
});
