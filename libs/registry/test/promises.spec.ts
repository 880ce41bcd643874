import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, KeelMetrics, loadKeelConfig } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import {
  HealthCheckMonitor,
  RecordCodec,
  RegistrationService,
  RegistryHealthIndicator,
  RegistryModule,
  ServiceDiscovery,
  type RegistryModuleOptions,
  type ServiceInstance,
} from '@keel/registry';
import { Redis } from 'ioredis';
import type { RedisServerHandle } from '../../../test/support/fault-servers.js';
import { startPasswordRedis } from '../../../test/support/password-redis.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

/** README promises of @keel/registry that no other suite proves. */

const SECRET = 'fleet-secret-Keel-77aa55';

/** Instances whose /health answers 503. */
const failing = new Set<string>();

@Controller()
class HealthController {
  constructor(private readonly registration: RegistrationService) {}

  @Get('health')
  health() {
    const id = this.registration.state().instanceId ?? '';
    if (failing.has(id)) throw new HttpException('unhealthy', 503);
    return { ok: true };
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  failing.clear();
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function boot(
  prefix: string,
  registry: RegistryModuleOptions,
  redis: string = redisUrl(),
): Promise<INestApplication> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'promises',
        redis,
        redisKeyPrefix: `${prefix}:`,
        config: loadKeelConfig({ env: {} }),
      }),
      // Long TTL and resync: no read happens but the ones a test asks for (see the counts).
      RegistryModule.forRoot({ resyncMs: 60_000, ttlMs: 60_000, drainMs: 0, ...registry }),
    ],
    controllers: [HealthController],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

/** The value of one counter series in `app`'s /metrics text (0 when the series is absent). */
async function counter(
  app: INestApplication,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await app.get(KeelMetrics).render();
  for (const line of text.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const series = Object.fromEntries(
      [...match[2].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => series[k] === v)) return Number(match[3]);
  }
  return 0;
}

const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

describe('registry metrics, asserted as the events happen', () => {
  it('keel_registry_ejections_total counts each local ejection of the service, and only those', async () => {
    const prefix = uniquePrefix('reg-eject');
    await boot(prefix, { service: { name: 'alpha', instanceId: 'a1' } });
    await boot(prefix, { service: { name: 'alpha', instanceId: 'a2' } });
    const c = await boot(prefix, {
      discover: ['alpha'],
      outlier: { failures: 3, windowMs: 60_000, ejectMs: 200, maxEjectMs: 1_000 },
    });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both visible' });
    const a2 = discovery.instances('alpha').find((i) => i.id === 'a2')!;
    const ejections = () => counter(c, 'keel_registry_ejections_total', { service: 'alpha' });

    discovery.reportResult(a2, false);
    discovery.reportResult(a2, false);
    expect(discovery.isEjected('a2')).toBe(false);
    expect(await ejections()).toBe(0);
    discovery.reportResult(a2, false);
    expect(discovery.isEjected('a2')).toBe(true);
    expect(await ejections()).toBe(1);
    for (let i = 0; i < 10; i++) expect(discovery.choose('alpha').id).toBe('a1');
    // Failures of an instance already ejected are not another ejection.
    discovery.reportResult(a2, false);
    expect(await ejections()).toBe(1);

    await waitFor(() => !discovery.isEjected('a2'), { message: 'the 200 ms ejection to end' });
    expect(await ejections()).toBe(1);
    for (let i = 0; i < 3; i++) discovery.reportResult(a2, false);
    expect(discovery.isEjected('a2')).toBe(true);
    expect(await ejections()).toBe(2);
    // A success does not count; no other service's series appears.
    discovery.reportResult(
      discovery.instances('alpha').find((i) => i.id === 'a1')!,
      true,
    );
    expect(await ejections()).toBe(2);
    const text = await c.get(KeelMetrics).render();
    expect(text.match(/^keel_registry_ejections_total\{/gm)).toHaveLength(1);
  });

  it('keel_registry_probes_total counts the monitors’ probes by result as they run; an app with no checks probes nothing', async () => {
    const prefix = uniquePrefix('reg-probes');
    const checks = {
      http: { path: '/health' },
      intervalMs: 100,
      failuresBeforeCritical: 2,
      successesBeforePassing: 2,
    };
    const a1 = await boot(prefix, { service: { name: 'alpha', instanceId: 'a1' }, checks });
    const a2 = await boot(prefix, { service: { name: 'alpha', instanceId: 'a2' }, checks });
    const c = await boot(prefix, { discover: ['alpha'], resyncMs: 200 });
    const discovery = c.get(ServiceDiscovery);
    // Summed over both instances: the monitor lease may change hands (a stalled event loop lets
    // it lapse), and probes are counted by whichever instance ran them.
    const probes = async (result: string) =>
      (await counter(a1, 'keel_registry_probes_total', { service: 'alpha', result })) +
      (await counter(a2, 'keel_registry_probes_total', { service: 'alpha', result }));
    await waitFor(() => [a1, a2].some((app) => app.get(HealthCheckMonitor).isMonitor), {
      message: 'an instance to take the monitor lease',
    });
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both visible' });
    // Each round probes both instances: passing probes accumulate while both are healthy.
    await waitFor(async () => (await probes('passing')) >= 4, {
      message: 'two rounds of passing probes',
    });
    expect(await probes('critical')).toBe(0);

    failing.add('a2');
    await waitFor(
      () =>
        discovery.instances('alpha', { includeUnhealthy: true }).find((i) => i.id === 'a2')
          ?.status === 'critical',
      { message: 'a2 critical' },
    );
    // Turned critical only after failuresBeforeCritical (2) critical probes, all counted.
    expect(await probes('critical')).toBeGreaterThanOrEqual(2);
    const passing = await probes('passing');
    // a1 is still probed, and passes.
    await waitFor(async () => (await probes('passing')) > passing, {
      message: 'another passing probe of a1',
    });
    // The consumer has no checks: it never monitors, so it has no probe series at all.
    expect(await c.get(KeelMetrics).render()).not.toMatch(/^keel_registry_probes_total\{/m);
  });
});

describe('garbage records planted in Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(redisUrl());
  });
  afterAll(async () => {
    await closeRedisClient(admin);
  });

  /**
   * The sorted index and the records hash of a service, found by type under its hash tag (the
   * layout the store documents) rather than by their exact names.
   */
  async function serviceKeys(prefix: string, service: string) {
    const keys = await admin.keys(`${prefix}:{registry:${service}}*`);
    const types = await Promise.all(keys.map(async (key) => [key, await admin.type(key)]));
    const index = types.find(([, type]) => type === 'zset')?.[0];
    let records: string | undefined;
    for (const [key, type] of types) {
      if (type === 'hash' && (await admin.hget(key, 'a1'))?.includes('"body"')) records = key;
    }
    if (index === undefined || records === undefined) throw new Error(`no keys in ${keys}`);
    return { index, records };
  }

  it('each is skipped and counted by reason; the rest of the list stays intact and live', async () => {
    const prefix = uniquePrefix('reg-garbage');
    await boot(prefix, {
      secret: SECRET,
      service: { name: 'alpha', instanceId: 'a1', metadata: { who: 'good' } },
    });
    const c = await boot(prefix, { secret: SECRET, discover: ['alpha'] });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('alpha').length === 1, { message: 'a1 visible' });
    const { index, records } = await serviceKeys(prefix, 'alpha');

    const good = JSON.parse((await admin.hget(records, 'a1'))!) as { body: string; sig: string };
    const forgedBody = good.body.replace('"good"', '"evil"');
    expect(forgedBody).not.toBe(good.body);
    const planted: Record<string, { json: string; reason: string }> = {
      'not-json': { json: 'not json {', reason: 'malformed' },
      'no-envelope': { json: JSON.stringify({ body: 'x' }), reason: 'malformed' },
      forged: { json: JSON.stringify({ ...good, body: forgedBody }), reason: 'signature' },
      'junk-sig': { json: JSON.stringify({ ...good, sig: `${good.sig}zz` }), reason: 'signature' },
      // a1's own, validly signed record under another id.
      imposter: { json: JSON.stringify(good), reason: 'mismatch' },
    };
    const [seconds] = await admin.time();
    const expiry = Number(seconds) * 1_000 + 600_000;
    for (const [id, { json }] of Object.entries(planted)) {
      await admin.hset(records, id, json);
      await admin.zadd(index, expiry, id);
    }
    const reasons = ['malformed', 'signature', 'mismatch'];
    const invalid = async () =>
      Object.fromEntries(
        await Promise.all(
          reasons.map(async (reason) => [
            reason,
            await counter(c, 'keel_registry_invalid_records_total', { service: 'alpha', reason }),
          ]),
        ),
      );
    const before = await invalid();

    await discovery.refresh('alpha'); // one full read
    expect(await invalid()).toEqual({
      malformed: before.malformed + 2,
      signature: before.signature + 2,
      mismatch: before.mismatch + 1,
    });
    expect(ids(discovery.instances('alpha', { includeUnhealthy: true }))).toEqual(['a1']);
    expect(discovery.instances('alpha')[0].metadata.who).toBe('good');
    for (let i = 0; i < 10; i++) expect(discovery.choose('alpha').id).toBe('a1');
    expect(discovery.cacheState('alpha')).toMatchObject({ stale: false, instances: 1 });

    // The same garbage pushed as a change is skipped and counted the same way.
    const channel = `${prefix}:registry:events:alpha`;
    await admin.publish(
      channel,
      JSON.stringify({
        t: 'up',
        id: 'forged',
        r: planted.forged.json,
        e: expiry,
        n: expiry - 600_000,
      }),
    );
    await waitFor(async () => (await invalid()).signature === before.signature + 3, {
      message: 'the pushed forged record to be counted',
    });
    expect(ids(discovery.instances('alpha', { includeUnhealthy: true }))).toEqual(['a1']);

    // The list still follows real changes.
    await boot(prefix, { secret: SECRET, service: { name: 'alpha', instanceId: 'a2' } });
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'a2 visible' });
    expect(ids(discovery.instances('alpha'))).toEqual(['a1', 'a2']);
  });
});

describe('no credentials in registry health output', () => {
  const PASSWORD = 'pw-Registry-5ecret-0077';
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('neither the Redis password nor the secret (or the owner proof derived from it), up or degraded', async () => {
    const redis = await startPasswordRedis(PASSWORD);
    server = redis.server;
    const prefix = uniquePrefix('reg-secrets');
    const a = await boot(
      prefix,
      {
        secret: SECRET,
        service: { name: 'alpha', instanceId: 'a1' },
        discover: ['alpha'],
        resyncMs: 100,
      },
      redis.url({ user: 'default' }),
    );
    const health = a.get(RegistryHealthIndicator);
    await waitFor(() => a.get(ServiceDiscovery).instances('alpha').length === 1, {
      message: 'a1 visible to itself',
    });
    const proof = new RecordCodec(SECRET).proof('alpha', 'a1');
    const leaks = (report: unknown) => {
      const text = JSON.stringify(report);
      return [PASSWORD, SECRET, proof, 'redis://', `:${redis.server.port}`].filter((s) =>
        text.includes(s),
      );
    };
    const up = await health.check();
    expect(up).toMatchObject({ status: 'up', details: { registered: true, instanceId: 'a1' } });
    expect(leaks(up)).toEqual([]);

    await redis.server.stop();
    const degraded = await waitFor(
      async () => {
        const report = await health.check();
        return report.status === 'degraded' ? report : undefined;
      },
      { timeoutMs: 20_000, message: 'health degraded with Redis down' },
    );
    expect(degraded.details).toMatchObject({ staleServices: ['alpha'] });
    expect(leaks(degraded)).toEqual([]);
  });
});
