import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, Module, Param, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, KeelMetrics, loadKeelConfig, isKeelConfigError } from '@keel/core';
import {
  currentLock,
  isLockTimeoutError,
  LockService,
  LocksHealthIndicator,
  LocksModule,
  WithLock,
  type LockTimeoutError,
  type LocksModuleOptions,
} from '@keel/locks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

@Injectable()
class OrdersService {
  readonly seen: { key: string; fence: number }[] = [];

  @WithLock('order:{orderId}', { waitMs: 100 })
  async ship(orderId: string, hold?: Promise<void>) {
    const lock = currentLock()!;
    this.seen.push({ key: lock.key, fence: lock.fencingToken });
    await hold;
    return `shipped ${orderId}`;
  }

  @WithLock((dto: { customer: { id: number } }) => `customer:${dto.customer.id}`)
  sync(_dto: { customer: { id: number } }) {
    return currentLock()?.key;
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id/ship')
  @WithLock('http-order:{id}')
  async ship(@Param('id') id: string) {
    const lock = currentLock()!;
    return { key: lock.key, fence: lock.fencingToken, inner: await this.orders.ship(id) };
  }
}

@Injectable()
class BrokenService {
  @WithLock('order:{ordreId}')
  async ship(orderId: string) {
    return orderId;
  }
}

function rootModule(
  locks: LocksModuleOptions,
  providers: Function[] = [OrdersService],
  redis = true,
  config = loadKeelConfig({ env: {} }),
) {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'locks-test',
        redis: redis ? redisUrl() : false,
        redisKeyPrefix: `${uniquePrefix('locks-mod')}:`,
        config,
      }),
      LocksModule.forRoot(locks),
    ],
    controllers: [OrdersController],
    providers: providers as never[],
  })
  class AppModule {}
  return AppModule;
}

describe('LocksModule', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(locks: LocksModuleOptions = {}, providers?: Function[], redis = true) {
    const moduleRef = await Test.createTestingModule({
      imports: [rootModule(locks, providers, redis)],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  it('is global by default: a feature module that does not import it injects LockService', async () => {
    @Injectable()
    class FeatureService {
      constructor(readonly locks: LockService) {}
    }
    @Module({ providers: [FeatureService], exports: [FeatureService] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [rootModule({ store: 'memory' }, undefined, false), FeatureModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(app.get(FeatureService).locks).toBe(app.get(LockService));
  });

  it('refuses a lock after shutdown with KEEL_LOCKS_SHUT_DOWN (503)', async () => {
    const nest = await boot({ store: 'memory' }, undefined, false);
    const locks = nest.get(LockService);
    await nest.close();
    app = undefined;
    const error = await locks.acquire('after-close').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KEEL_LOCKS_SHUT_DOWN', status: 503 });
    expect((error as Error).message).toBe("LockService is shut down; cannot acquire 'after-close'");
  });

  it('@WithLock on a provider: holds the key from the arguments, exposes currentLock()', async () => {
    const nest = await boot();
    const orders = nest.get(OrdersService);
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const first = orders.ship('o-1', hold);
    await waitFor(() => orders.seen.length === 1, { message: 'the first ship() to hold its lock' });
    const second = await orders.ship('o-1').catch((e: unknown) => e);
    expect(isLockTimeoutError(second)).toBe(true);
    expect(await orders.ship('o-2')).toBe('shipped o-2');
    release();
    expect(await first).toBe('shipped o-1');
    expect(orders.seen.map((s) => s.key).sort()).toEqual(['order:o-1', 'order:o-2']);
    expect(await orders.sync({ customer: { id: 7 } })).toBe('customer:7');
    expect(nest.get(LockService).heldCount).toBe(0);
  });

  it('@WithLock on a controller handler, nested with a provider lock', async () => {
    const nest = await boot({ store: 'memory' }, undefined, false);
    const response = await request(nest.getHttpServer()).post('/orders/a%3Ab/ship').expect(201);
    expect(response.body.key).toBe('http-order:a%3Ab');
    expect(response.body.fence).toBeGreaterThan(0);
    expect(response.body.inner).toBe('shipped a:b');
  });

  it('a key template naming an unknown parameter stops the application at start', async () => {
    await expect(boot({}, [OrdersService, BrokenService])).rejects.toThrow(
      /BrokenService\.ship \(@WithLock key\): placeholder '\{ordreId\}'.*names no parameter/s,
    );
  });

  it('rejects bad options with one line per problem', async () => {
    const error = await boot({ ttlMs: 1, waitMs: -5 } as LocksModuleOptions).catch(
      (e: unknown) => e,
    );
    expect(isKeelConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/LocksModule\.ttlMs/);
    expect((error as Error).message).toMatch(/LocksModule\.waitMs/);
  });

  it("refuses store 'redis' without Redis", async () => {
    await expect(boot({ store: 'redis' }, undefined, false)).rejects.toThrow(/'redis' needs Redis/);
  });

  it('reads the YAML locks section; forRoot options win over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-locks-'));
    const file = join(dir, 'keel.yaml');
    writeFileSync(file, 'locks:\n  ttlMs: 4000\n  waitMs: 25\n');
    try {
      const config = loadKeelConfig({ env: {}, file });
      const moduleRef = await Test.createTestingModule({
        imports: [rootModule({ waitMs: 1_000, store: 'memory' }, [OrdersService], false, config)],
      }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      const locks = app.get(LockService);
      const lock = await locks.acquire('yaml');
      expect(lock.remainingMs()).toBeGreaterThan(3_000);
      expect(lock.remainingMs()).toBeLessThanOrEqual(4_000);
      const timeout = await locks.acquire('yaml').catch((e: unknown) => e);
      expect(isLockTimeoutError(timeout)).toBe(true);
      // waitMs from forRoot (1 s), not from YAML (25 ms).
      expect((timeout as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(1_000);
      await lock.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forRootAsync takes options from a factory', async () => {
    @Module({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        LocksModule.forRootAsync({ useFactory: async () => ({ ttlMs: 2_500 }) }),
      ],
    })
    class AsyncModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AsyncModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const lock = await app.get(LockService).acquire('async');
    expect(lock.remainingMs()).toBeLessThanOrEqual(2_500);
    expect(lock.remainingMs()).toBeGreaterThan(2_000);
    await lock.release();
  });

  it('reports health and metrics', async () => {
    const nest = await boot();
    const locks = nest.get(LockService);
    await locks.using('metrics', async () => {
      const report = await nest.get(LocksHealthIndicator).check();
      expect(report.status).toBe('up');
      expect(report.details).toMatchObject({ store: 'redis', held: 1 });
      expect(typeof report.details?.roundTripMs).toBe('number');
      expect(JSON.stringify(report)).not.toContain('redis://');
    });
    await locks.tryAcquire('metrics');
    const timeout = await locks.acquire('metrics', { waitMs: 20 }).catch((e: unknown) => e);
    expect(isLockTimeoutError(timeout)).toBe(true);
    const text = await nest.get(KeelMetrics).render();
    expect(text).toMatch(/keel_lock_acquire_seconds_count\{[^}]*outcome="acquired"[^}]*\} [1-9]/);
    expect(text).toMatch(/keel_lock_contended_total\{[^}]*\} [1-9]/);
    expect(text).toMatch(/keel_lock_timeouts_total\{[^}]*\} 1/);
    expect(text).toMatch(/keel_locks_held\{[^}]*\} 1/);
    expect(text).toContain('keel_lock_lost_total');
    expect(text).toContain('keel_lock_deadlocks_total');
  });
});
