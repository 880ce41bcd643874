import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { LocksModule } from '@keel/locks';
import {
  HealthCheckMonitor,
  RegistrationService,
  RegistryModule,
  ServiceDiscovery,
} from '@keel/registry';
import { Redis } from 'ioredis';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

@Controller()
class HealthController {
  static failing = new Set<string>();
  constructor(private readonly registration: RegistrationService) {}

  @Get('health')
  health() {
    if (HealthController.failing.has(this.registration.state().instanceId ?? '')) {
      throw new HttpException('unhealthy', 503);
    }
    return { ok: true };
  }
}

const apps: INestApplication[] = [];
const redis = new Redis(redisUrl());
afterEach(async () => {
  HealthController.failing.clear();
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});
afterAll(async () => {
  await redis.quit();
});

async function boot(input: {
  readonly prefix: string;
  readonly id: string;
  readonly locks: boolean;
}): Promise<INestApplication> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'alpha',
        redis: redisUrl(),
        redisKeyPrefix: `${input.prefix}:`,
        config: loadKeelConfig({ env: {} }),
      }),
      ...(input.locks ? [LocksModule.forRoot()] : []),
      RegistryModule.forRoot({
        service: { instanceId: input.id },
        checks: { http: { path: '/health', timeoutMs: 1_000 }, intervalMs: 100 },
        discover: ['alpha'],
        resyncMs: 500,
      }),
    ],
    controllers: [HealthController],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

/** Keys under the test's prefix whose name contains `part`. */
async function keysWith(prefix: string, part: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    keys.push(...batch.filter((key) => key.includes(part)));
  } while (cursor !== '0');
  return keys;
}

/** Two instances of `alpha`: one becomes the monitor and judges the other critical. */
async function fleetJudges(prefix: string, locks: boolean): Promise<HealthCheckMonitor[]> {
  const fleet = [await boot({ prefix, id: 'a1', locks }), await boot({ prefix, id: 'a2', locks })];
  const discovery = fleet[0].get(ServiceDiscovery);
  await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both registered' });
  const monitors = fleet.map((app) => app.get(HealthCheckMonitor));
  await waitFor(() => monitors.some((m) => m.isMonitor), { message: 'a monitor' });
  HealthController.failing.add('a2');
  await waitFor(
    () =>
      discovery.instances('alpha', { includeUnhealthy: true }).find((i) => i.id === 'a2')
        ?.status === 'critical',
    { timeoutMs: 15_000, message: 'a2 judged critical' },
  );
  // One monitor for the service, whichever lease it holds.
  expect(monitors.filter((m) => m.isMonitor)).toHaveLength(1);
  return monitors;
}

describe('the health-check monitor lease (real Redis)', () => {
  it('comes from @keel/locks when LocksModule is imported, and its fenced verdicts are written', async () => {
    const prefix = uniquePrefix('lease-locks');
    const monitors = await fleetJudges(prefix, true);
    expect(monitors.map((m) => m.leaseSource)).toEqual(['locks', 'locks']);
    // The lock is held under the locks lib's keys; the registry's own lease key is never written.
    expect(await keysWith(prefix, 'registry:monitor:alpha')).not.toEqual([]);
    expect(await redis.exists(`${prefix}:{registry:alpha}:monitor`)).toBe(0);
    expect(await redis.get(`${prefix}:{registry:alpha}:monitor:fence`)).toMatch(/^\d+$/);
  });

  it("is the registry store's own lease without LocksModule", async () => {
    const prefix = uniquePrefix('lease-store');
    const monitors = await fleetJudges(prefix, false);
    expect(monitors.map((m) => m.leaseSource)).toEqual(['store', 'store']);
    expect(await redis.get(`${prefix}:{registry:alpha}:monitor`)).toMatch(/^a[12]:\d+$/);
    expect(await keysWith(prefix, 'registry:monitor:alpha}')).toEqual([]);
  });
});
