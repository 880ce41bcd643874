import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { KeelMetrics, loadKeelConfig } from '@keel/core';
import {
  Bulkhead,
  CircuitBreaker,
  CircuitBreakerRegistry,
  MemoryBreakerStore,
  RedisBreakerStore,
  Retry,
  Timeout,
  timeoutSignal,
  type BreakerStateMessage,
  type BreakerStore,
  type SharedBreakerPolicy,
} from '@keel/coordination';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { sampleValue } from '../../../test/support/metric-samples.js';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { settlesWithin, waitFor } from '../../../test/support/wait-for.js';
import { barrier, bootApp, pause, slotRefusals } from './support.js';

/** What the coordination README promises and no other suite showed. */
describe('coordination README promises', () => {
  let apps: INestApplication[] = [];
  let redis: RedisServerHandle | undefined;
  let holder: FixtureProcess | undefined;
  afterEach(async () => {
    await holder?.kill();
    holder = undefined;
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

  it('fleet bulkhead: Redis down → each replica falls back to a limit of maxConcurrent of its own, and counts what it refuses', async () => {
    @Injectable()
    class Imports {
      @Bulkhead({ name: 'imports', scope: 'fleet', maxConcurrent: 1, queueTimeoutMs: 200 })
      async run(hold: Promise<void>, entered: () => void) {
        entered();
        await hold;
        return 'imported';
      }
    }
    redis = await startRedisServer();
    const core = {
      redis: redis.url,
      redisKeyPrefix: `${uniquePrefix('bulkhead-down')}:`,
      serviceName: 'bulkhead-down',
    };
    const coordination = { fleet: { commandTimeoutMs: 200 } };
    const a = await boot({ providers: [Imports] }, { core, coordination });
    const b = await boot({ providers: [Imports] }, { core, coordination });
    const run = async (app: INestApplication, hold: Promise<void>) => {
      // Resolves once the call is inside its slot, or has been refused.
      const inside = barrier();
      const call = app.get(Imports).run(hold, inside.resolve);
      await Promise.race([inside.promise, call.catch(() => undefined)]);
      return { call };
    };
    const rejectedFull = async (app: INestApplication) =>
      sampleValue(await app.get(KeelMetrics).render(), 'keel_bulkhead_rejected_total', {
        name: 'imports',
        reason: 'full',
      }) ?? 0;

    // Redis up: one slot for the whole fleet.
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const first = await run(a, hold);
    await expect((await run(b, hold)).call).rejects.toMatchObject({ reason: 'full' });
    release();
    await expect(first.call).resolves.toBe('imported');

    // Redis down: each replica runs maxConcurrent calls at once, and refuses the next one.
    await redis.stop();
    let releaseDown!: () => void;
    const holdDown = new Promise<void>((r) => (releaseDown = r));
    const inA = await run(a, holdDown);
    const inB = await run(b, holdDown);
    const beforeA = await rejectedFull(a);
    await expect((await run(a, holdDown)).call).rejects.toMatchObject({
      code: 'KEEL_BULKHEAD_REJECTED',
      reason: 'full',
    });
    expect(await rejectedFull(a)).toBe(beforeA + 1);
    releaseDown();
    await expect(Promise.all([inA.call, inB.call])).resolves.toEqual(['imported', 'imported']);
    expect(
      sampleValue(await a.get(KeelMetrics).render(), 'keel_bulkhead_active', { name: 'imports' }),
    ).toBe(0);
  });

  it("fleet bulkhead: a SIGKILLed holder's slot is freed once its lease (leaseMs) runs out, not while it lives", async () => {
    const LEASE_MS = 1_000;
    const core = {
      redis: redisUrl(),
      redisKeyPrefix: `${uniquePrefix('bulkhead-lease')}:`,
      serviceName: 'bulkhead-lease',
    };
    holder = startFixture('libs/coordination/test/fixtures/bulkhead-holder.ts', {
      env: {
        HOLDER_REDIS_URL: core.redis,
        HOLDER_PREFIX: core.redisKeyPrefix,
        HOLDER_SERVICE: core.serviceName,
        HOLDER_LEASE_MS: String(LEASE_MS),
        HOLDER_MAX_CONCURRENT: '2',
      },
    });
    await holder.waitForMessage((m) => m.type === 'ready');
    holder.send({ cmd: 'hold' });
    await holder.waitForMessage((m) => m.type === 'holding');

    // Two slots: the crashed holder's and one this test holds throughout, whose renewals keep the
    // sorted set alive, so only the crashed holder's own lease expiring can free a slot.
    const bulkhead = { name: 'imports', scope: 'fleet' as const, maxConcurrent: 2, maxQueue: 5 };
    const entered = barrier();
    @Injectable()
    class Imports {
      // Waits three leases: the live holder renews its lease, so its slot stays taken.
      @Bulkhead({ ...bulkhead, queueTimeoutMs: LEASE_MS * 3, leaseMs: LEASE_MS })
      async run(hold?: Promise<void>) {
        entered.resolve();
        await hold;
        return 'imported';
      }
    }
    @Injectable()
    class Later {
      @Bulkhead({ ...bulkhead, queueTimeoutMs: 10_000, leaseMs: LEASE_MS })
      async afterCrash() {
        return 'imported';
      }
    }
    const app = await boot({ providers: [Imports] }, { core });
    let release!: () => void;
    const holding = app.get(Imports).run(new Promise<void>((r) => (release = r)));
    await entered.promise;
    const refused = slotRefusals(app, core.redis);
    const waited = app.get(Imports).run();
    await settlesWithin(refused.next(), 5_000, 'Redis refusing a third slot');
    await expect(waited).rejects.toMatchObject({ reason: 'queue-timeout' });

    // Booted before the crash, so the request below follows it at once.
    const other = await boot({ providers: [Later] }, { core });
    holder.signal('SIGKILL');
    await holder.exited();
    // Nothing releases a SIGKILLed holder's slot: only its lease running out can free it.
    await expect(other.get(Later).afterCrash()).resolves.toBe('imported');
    release();
    await expect(holding).resolves.toBe('imported');
  });

  it('fleet breaker: a dead probe holder never reports; the store re-opens the breaker after probeTimeoutMs', async () => {
    const policy: SharedBreakerPolicy = {
      slidingWindow: 'count',
      windowSize: 10,
      minimumCalls: 2,
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      consecutiveFailures: 0,
      openDurationMs: 100,
      halfOpenProbes: 1,
      probeTimeoutMs: 400,
    };
    const failed = { calls: 2, failures: 2, slow: 0, trailingFailures: 2, hadSuccess: false };
    const prefix = `${uniquePrefix('probe-holder')}:`;
    const clients: Redis[] = [];
    const redisStore = () => {
      const client = new Redis(redisUrl());
      const subscriber = new Redis(redisUrl());
      clients.push(client, subscriber);
      return new RedisBreakerStore({
        client,
        subscriber: () => subscriber,
        keyPrefix: prefix,
        serviceName: 'probe-holder',
      });
    };
    const memory = new MemoryBreakerStore();
    const cases: [string, BreakerStore, BreakerStore][] = [
      // Memory: one store, whose probe holder simply never reports.
      ['memory', memory, memory],
      // Redis: the holder is another replica's store, closed (its connections gone) after taking
      // the probe.
      ['redis', redisStore(), redisStore()],
    ];
    try {
      for (const [kind, dying, survivor] of cases) {
        const messages: BreakerStateMessage[] = [];
        await survivor.subscribe((m) => messages.push(m));
        await survivor.record('gateway', policy, failed);
        await waitFor(async () => (await survivor.read('gateway')).remainingOpenMs === 0, {
          intervalMs: 10,
          message: `${kind}: the open period to end`,
        });
        const probe = await dying.acquireProbe('gateway', policy);
        expect(probe.permit).toBe('probe');
        if (dying !== survivor) await dying.close();
        const halfOpen = await survivor.acquireProbe('gateway', policy);
        expect(halfOpen).toMatchObject({ permit: 'rejected', snapshot: { state: 'half-open' } });
        // Without the probe timeout it would stay half-open, refusing every call, for ever.
        const reopened = await waitFor(
          async () => {
            const grant = await survivor.acquireProbe('gateway', policy);
            return grant.snapshot.state === 'open' ? grant : undefined;
          },
          { timeoutMs: 10_000, intervalMs: 50, message: `${kind}: re-opened after the timeout` },
        );
        expect(reopened.permit).toBe('rejected');
        expect(reopened.snapshot.version).toBeGreaterThan(probe.snapshot.version);
        await waitFor(() => messages.some((m) => m.snapshot.state === 'open'), {
          message: `${kind}: the re-opening pushed to subscribers`,
        });
        // A new open period, then a new probe, which a live replica can take and report.
        const next = await waitFor(
          async () => {
            const grant = await survivor.acquireProbe('gateway', policy);
            return grant.permit === 'probe' ? grant : undefined;
          },
          { intervalMs: 20, message: `${kind}: a new probe after the new open period` },
        );
        await expect(
          survivor.reportProbe('gateway', policy, next.snapshot.version, 'success'),
        ).resolves.toMatchObject({ state: 'closed' });
        await survivor.close();
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('breaker and bulkhead scripts on a Redis Cluster: shared state across two applications', async () => {
    const nodes = await sharedRedisCluster();
    const entered = barrier();
    @Injectable()
    class Inventory {
      failing = true;

      @CircuitBreaker({
        name: 'inventory',
        store: 'redis',
        consecutiveFailures: 2,
        openDurationMs: 200,
      })
      async reserve() {
        if (this.failing) throw new Error('inventory down');
        return 'reserved';
      }

      @Bulkhead({
        name: 'exports',
        scope: 'fleet',
        maxConcurrent: 1,
        queueTimeoutMs: 5_000,
        maxQueue: 1,
      })
      async export(hold: Promise<void>) {
        entered.resolve();
        await hold;
        return 'exported';
      }
    }
    const core = {
      redis: { cluster: nodes },
      redisKeyPrefix: `${uniquePrefix('coordination-cluster')}:`,
      serviceName: 'cluster-test',
    };
    const a = await boot({ providers: [Inventory] }, { core });
    const b = await boot({ providers: [Inventory] }, { core });
    for (const app of [a, b]) {
      await waitFor(() => app.get(CircuitBreakerRegistry).fleetStatus().available, {
        timeoutMs: 15_000,
        message: 'joined the fleet on the cluster',
      });
    }
    // Breaker: tripped through a, open in b (record script + pub/sub), then probed and closed.
    await expect(a.get(Inventory).reserve()).rejects.toThrow('inventory down');
    await expect(a.get(Inventory).reserve()).rejects.toThrow('inventory down');
    await waitFor(() => b.get(CircuitBreakerRegistry).get('inventory')?.state === 'open', {
      message: 'b sees the breaker a opened',
    });
    await expect(b.get(Inventory).reserve()).rejects.toMatchObject({ code: 'KEEL_CIRCUIT_OPEN' });
    b.get(Inventory).failing = false;
    await waitFor(
      async () =>
        (await b
          .get(Inventory)
          .reserve()
          .catch(() => undefined)) === 'reserved',
      { message: 'a probe through b succeeds (acquire and report scripts)' },
    );
    await waitFor(() => a.get(CircuitBreakerRegistry).get('inventory')?.state === 'closed', {
      message: 'a sees the breaker closed',
    });

    // Bulkhead: one slot across both applications (acquire script), handed over on release.
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const first = a.get(Inventory).export(hold);
    await entered.promise;
    const refused = slotRefusals(b, core.redis);
    let secondDone = false;
    const second = b
      .get(Inventory)
      .export(Promise.resolve())
      .then((v) => {
        secondDone = true;
        return v;
      });
    await settlesWithin(refused.next(), 5_000, "the cluster refusing b's slot request");
    expect(secondDone).toBe(false); // waiting for the slot a holds

    release();
    await expect(first).resolves.toBe('exported');
    await expect(second).resolves.toBe('exported');
  });

  it('forRoot wins over YAML per policy and kind; what only YAML sets still applies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-coordination-precedence-'));
    const file = join(dir, 'keel.yaml');
    writeFileSync(
      file,
      [
        'coordination:',
        '  policies:',
        '    payments:',
        '      retry: { maxAttempts: 5, delayMs: 1 }',
        '      timeout: 30',
        '    search:',
        '      retry: { maxAttempts: 4, delayMs: 1 }',
      ].join('\n'),
    );
    @Injectable()
    class Calls {
      attempts = { payments: 0, search: 0, audit: 0 };

      @Retry('payments')
      @Timeout('payments')
      async charge(slow: boolean) {
        this.attempts.payments++;
        if (slow) await pause(10_000, timeoutSignal());
        throw new Error('gateway down');
      }

      @Retry('search')
      async find() {
        this.attempts.search++;
        throw new Error('index down');
      }

      @Retry('audit')
      async write() {
        this.attempts.audit++;
        throw new Error('disk full');
      }
    }
    const app = await boot(
      { providers: [Calls] },
      {
        core: { config: loadKeelConfig({ env: {}, file }) },
        coordination: {
          policies: {
            payments: { retry: { maxAttempts: 2, delayMs: 1 } },
            audit: { retry: { maxAttempts: 3, delayMs: 1 } },
          },
        },
      },
    );
    const calls = app.get(Calls);
    await expect(calls.charge(false)).rejects.toThrow('gateway down');
    expect(calls.attempts.payments).toBe(2); // forRoot's retry, not YAML's 5
    calls.attempts.payments = 0;
    // payments.timeout is set only in YAML: it still applies, to each of forRoot's 2 attempts.
    await expect(calls.charge(true)).rejects.toMatchObject({ code: 'KEEL_TIMEOUT' });
    expect(calls.attempts.payments).toBe(2);
    await expect(calls.find()).rejects.toThrow('index down');
    expect(calls.attempts.search).toBe(4); // a policy only YAML names
    await expect(calls.write()).rejects.toThrow('disk full');
    expect(calls.attempts.audit).toBe(3); // a policy only forRoot names
  });
});
