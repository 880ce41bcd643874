import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport } from '@nestjs/microservices';
import {
  KeelCoreModule,
  KeelMetrics,
  isKeelConfigError,
  loadKeelConfig,
  type KeelConfigError,
} from '@keel/core';
import {
  MemoryRegistryStore,
  NoInstanceAvailableError,
  RecordCodec,
  RegistryArgumentError,
  RegistrationService,
  RegistryHealthIndicator,
  RegistryModule,
  ServiceClientFactory,
  ServiceDiscovery,
  ServiceHttpClient,
  isNoInstanceAvailableError,
  type RegistryModuleOptions,
  type ServiceInstance,
  type ServiceSnapshot,
} from '@keel/registry';
import { firstValueFrom } from 'rxjs';
import { freePort } from '../../../test/support/fault-servers.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

@Controller()
class HelloController {
  static failing = new Set<string>();
  constructor(private readonly registration: RegistrationService) {}

  @Get('hello')
  hello() {
    const id = this.registration.state().instanceId ?? '';
    if (HelloController.failing.has(id)) throw new HttpException('down', 500);
    return { id };
  }

  @MessagePattern('ping')
  ping(value: number) {
    return { pong: value, id: this.registration.state().instanceId };
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  HelloController.failing.clear();
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

interface BootOptions {
  readonly prefix: string;
  readonly registry: RegistryModuleOptions;
  readonly redis?: boolean;
  readonly tcpPort?: number;
}

async function boot({
  prefix,
  registry,
  redis = true,
  tcpPort,
}: BootOptions): Promise<INestApplication> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'test',
        redis: redis ? redisUrl() : false,
        redisKeyPrefix: `${prefix}:`,
        config: loadKeelConfig({ env: {} }),
      }),
      RegistryModule.forRoot({ resyncMs: 500, ttlMs: 3_000, drainMs: 300, ...registry }),
    ],
    controllers: [HelloController],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  apps.push(app);
  if (tcpPort !== undefined) {
    app.connectMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: tcpPort },
    });
    await app.startAllMicroservices();
  }
  await app.listen(0, '127.0.0.1');
  return app;
}

const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

describe('registration and discovery (real Redis)', () => {
  it('registers once listening, with the server address and registry-clock times', async () => {
    const prefix = uniquePrefix('reg');
    const a = await boot({
      prefix,
      registry: { service: { name: 'alpha', version: '1.2.0', tags: ['x'], instanceId: 'a1' } },
    });
    const c = await boot({ prefix, registry: { discover: ['alpha'] } });
    const discovery = c.get(ServiceDiscovery);
    const instance = await waitFor(() => discovery.instances('alpha')[0], {
      message: 'alpha visible',
    });
    const port = (a.getHttpServer().address() as { port: number }).port;
    expect(instance).toMatchObject({
      id: 'a1',
      address: { host: '127.0.0.1', port },
      version: '1.2.0',
      status: 'passing',
    });
    expect(instance.registeredAt).toBeGreaterThan(0);
    expect(instance.expiresAt - instance.heartbeatAt).toBe(3_000);
    expect(discovery.choose('alpha').id).toBe('a1');
    expect(discovery.instances('alpha', { version: '^1.0.0', tags: ['x'] })).toHaveLength(1);
    expect(discovery.instances('alpha', { version: '^2.0.0' })).toHaveLength(0);
    expect(() => discovery.choose('alpha', { tags: ['nope'] })).toThrow(NoInstanceAvailableError);
    expect(await a.get(RegistryHealthIndicator).check()).toMatchObject({
      status: 'up',
      details: { registered: true },
    });
  });

  it('graceful shutdown: draining is seen at once, removal after the drain period', async () => {
    const prefix = uniquePrefix('drain');
    const a = await boot({
      prefix,
      registry: { service: { name: 'alpha', instanceId: 'a1' }, drainMs: 1_000 },
    });
    await boot({ prefix, registry: { service: { name: 'alpha', instanceId: 'a2' } } });
    const c = await boot({ prefix, registry: { discover: ['alpha'] } });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both visible' });
    const events: string[][] = [];
    const sub = discovery
      .watch('alpha')
      .subscribe((list) => events.push(list.map((i) => `${i.id}:${i.status}`)));
    const closing = a.close();
    apps.splice(apps.indexOf(a), 1);
    await waitFor(
      () =>
        discovery.instances('alpha', { includeUnhealthy: true }).find((i) => i.id === 'a1')
          ?.status === 'draining',
      {
        message: 'draining',
      },
    );
    // Drained instances are never chosen.
    for (let i = 0; i < 10; i++) expect(discovery.choose('alpha').id).toBe('a2');
    expect(ids(discovery.instances('alpha', { includeUnhealthy: true }))).toEqual(['a1', 'a2']);
    await closing;
    await waitFor(() => discovery.instances('alpha', { includeUnhealthy: true }).length === 1, {
      message: 'removed',
    });
    sub.unsubscribe();
    expect(events.map((e) => e.join(','))).toEqual(
      expect.arrayContaining(['a1:passing,a2:passing', 'a1:draining,a2:passing', 'a2:passing']),
    );
  });

  it('serves the last known list, flagged stale, while the store fails; ignores a one-off empty answer', async () => {
    let mode: 'ok' | 'fail' | 'empty' = 'ok';
    class FlakyStore extends MemoryRegistryStore {
      override async snapshot(service: string): Promise<ServiceSnapshot> {
        if (mode === 'fail') throw new Error('connection lost');
        const snap = await super.snapshot(service);
        return mode === 'empty' ? { ...snap, records: [] } : snap;
      }
    }
    const store = new FlakyStore();
    const prefix = uniquePrefix('stale');
    await boot({
      prefix,
      redis: false,
      registry: { store, service: { name: 'alpha', instanceId: 'a1' } },
    });
    const c = await boot({
      prefix,
      redis: false,
      registry: { store, discover: ['alpha'], emptyConfirmMs: 300, recoveryMs: 0 },
    });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('alpha').length === 1, { message: 'visible' });

    mode = 'fail';
    await discovery.refresh('alpha');
    expect(discovery.cacheState('alpha')).toMatchObject({ stale: true, instances: 1 });
    expect(discovery.choose('alpha').id).toBe('a1');
    expect(await c.get(RegistryHealthIndicator).check()).toMatchObject({
      status: 'degraded',
      details: { staleServices: ['alpha'] },
    });

    mode = 'empty';
    await discovery.refresh('alpha');
    expect(discovery.cacheState('alpha')).toMatchObject({ stale: false, instances: 1 });
    expect(discovery.choose('alpha').id).toBe('a1');
    mode = 'ok';
    await discovery.refresh('alpha');
    expect(discovery.instances('alpha')).toHaveLength(1);

    // An empty answer that persists past emptyConfirmMs is believed.
    mode = 'empty';
    await discovery.refresh('alpha');
    await waitFor(() => discovery.instances('alpha', { includeUnhealthy: true }).length === 0, {
      message: 'confirmed empty',
    });
  });

  it('ServiceHttpClient resolves service URLs, balances, and ejects a failing instance locally', async () => {
    const prefix = uniquePrefix('http');
    await boot({ prefix, registry: { service: { name: 'alpha', instanceId: 'a1' } } });
    await boot({ prefix, registry: { service: { name: 'alpha', instanceId: 'a2' } } });
    const c = await boot({
      prefix,
      registry: {
        discover: ['alpha'],
        outlier: { failures: 3, windowMs: 60_000, ejectMs: 60_000 },
      },
    });
    const discovery = c.get(ServiceDiscovery);
    const http = c.get(ServiceHttpClient);
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both' });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await http.fetch('http://alpha/hello', { choose: { strategy: 'round-robin' } });
      seen.add(((await res.json()) as { id: string }).id);
    }
    expect([...seen].sort()).toEqual(['a1', 'a2']);

    HelloController.failing.add('a2');
    let failures = 0;
    for (let i = 0; i < 20 && !discovery.isEjected('a2'); i++) {
      const res = await http.fetch('http://alpha/hello', { choose: { strategy: 'round-robin' } });
      if (res.status === 500) failures++;
    }
    expect(failures).toBe(3);
    expect(discovery.isEjected('a2')).toBe(true);
    for (let i = 0; i < 10; i++) {
      const res = await http.fetch('http://alpha/hello');
      expect(((await res.json()) as { id: string }).id).toBe('a1');
    }
    // Not marked critical globally: other consumers still see it passing.
    expect(
      discovery.instances('alpha', { includeUnhealthy: true }).find((i) => i.id === 'a2')?.status,
    ).toBe('passing');
    expect(discovery.inFlight('a1')).toBe(0);
    await expect(http.fetch('http://nowhere/x')).rejects.toThrow(NoInstanceAvailableError);
    const error = await http.fetch('http://nowhere/x').catch((e: unknown) => e);
    expect(isNoInstanceAvailableError(error)).toBe(true);
  });

  it('ServiceClientFactory sends to the chosen instance over TCP', async () => {
    const prefix = uniquePrefix('tcp');
    const tcpPort = await freePort();
    await boot({
      prefix,
      tcpPort,
      registry: {
        service: { name: 'beta', instanceId: 'b1' },
        address: { ports: { tcp: tcpPort } },
      },
    });
    const c = await boot({ prefix, registry: {} });
    await waitFor(
      async () => {
        await c.get(ServiceDiscovery).refresh('beta');
        return c.get(ServiceDiscovery).instances('beta').length === 1;
      },
      { message: 'beta' },
    );
    const client = await c.get(ServiceClientFactory).client('beta');
    expect(await firstValueFrom(client.send('ping', 7))).toEqual({ pong: 7, id: 'b1' });
    const clients = c.get(ServiceClientFactory);
    expect(await firstValueFrom(clients.send('beta', 'ping', 8))).toEqual({ pong: 8, id: 'b1' });
    expect(c.get(ServiceDiscovery).inFlight('b1')).toBe(0);
  });

  it('a microservice-only app without an address fails at bootstrap', async () => {
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'm',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        RegistryModule.forRoot({ service: { name: 'm' } }),
      ],
    })
    class MicroOnly {}
    await expect(
      NestFactory.createApplicationContext(MicroOnly, { logger: false }),
    ).rejects.toThrow(/address.host and address.port/);
  });

  it('custom checks turn the instance critical after N results and back', async () => {
    let healthy = true;
    const prefix = uniquePrefix('custom');
    await boot({
      prefix,
      registry: {
        service: { name: 'alpha', instanceId: 'a1' },
        checks: {
          custom: [() => healthy],
          intervalMs: 50,
          failuresBeforeCritical: 2,
          successesBeforePassing: 2,
        },
      },
    });
    await boot({ prefix, registry: { service: { name: 'alpha', instanceId: 'a2' } } });
    const c = await boot({ prefix, registry: { discover: ['alpha'] } });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'both' });
    healthy = false;
    await waitFor(
      () =>
        discovery.instances('alpha', { includeUnhealthy: true }).find((i) => i.id === 'a1')
          ?.status === 'critical',
      {
        message: 'critical',
      },
    );
    for (let i = 0; i < 10; i++) expect(discovery.choose('alpha').id).toBe('a2');
    healthy = true;
    await waitFor(() => discovery.instances('alpha').length === 2, { message: 'passing again' });
  });

  it('strategies through ServiceDiscovery: default weighted, zone preference with fallback, consistent hash, least outstanding', async () => {
    const store = new MemoryRegistryStore();
    const codec = new RecordCodec(undefined);
    const put = (id: string, zone: string, weight: number) =>
      store.register(
        'gamma',
        id,
        codec.encode(
          {
            id,
            service: 'gamma',
            address: { host: '127.0.0.1', port: 1 },
            version: '2.0.0',
            tags: [],
            metadata: {},
            weight,
            zone,
            checks: [],
          },
          { draining: false, health: 'passing', self: 'passing' },
        ),
        60_000,
        '',
      );
    await put('g1', 'z1', 1);
    await put('g2', 'z2', 3);
    await put('g3', 'z2', 1);
    const c = await boot({
      prefix: uniquePrefix('strategies'),
      redis: false,
      registry: { store, discover: ['gamma'] },
    });
    const discovery = c.get(ServiceDiscovery);
    await waitFor(() => discovery.instances('gamma').length === 3, { message: 'gamma' });

    const counts: Record<string, number> = {};
    for (let i = 0; i < 5_000; i++) {
      const id = discovery.choose('gamma').id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    // Weights 1:3:1 → 1 000 / 3 000 / 1 000 expected.
    expect(counts.g2).toBeGreaterThan(2_500);
    expect(counts.g1).toBeLessThan(1_400);

    for (let i = 0; i < 20; i++)
      expect(discovery.choose('gamma', { strategy: 'zone', zone: 'z1' }).id).toBe('g1');
    await store.setStatus('gamma', 'g1', 'health', 'critical', '');
    await waitFor(() => discovery.instances('gamma').length === 2, { message: 'g1 critical' });
    expect(['g2', 'g3']).toContain(discovery.choose('gamma', { strategy: 'zone', zone: 'z1' }).id);
    await store.setStatus('gamma', 'g1', 'health', 'passing', '');
    await waitFor(() => discovery.instances('gamma').length === 3, { message: 'g1 back' });

    const sticky = discovery.choose('gamma', { strategy: 'consistent-hash', key: 'cart-42' }).id;
    for (let i = 0; i < 20; i++)
      expect(discovery.choose('gamma', { strategy: 'consistent-hash', key: 'cart-42' }).id).toBe(
        sticky,
      );
    expect(() => discovery.choose('gamma', { strategy: 'consistent-hash' })).toThrow(
      RegistryArgumentError,
    );

    const busy = discovery.instances('gamma').filter((i) => i.id !== 'g3');
    const done = busy.map((i) => discovery.track(i));
    expect(discovery.choose('gamma', { strategy: 'least-outstanding' }).id).toBe('g3');
    done.forEach((end) => end(true));
    expect(discovery.inFlight('g1')).toBe(0);
  });

  it('exposes the registry metrics', async () => {
    const prefix = uniquePrefix('metrics');
    // The watcher first, so the registration reaches it as a push (the propagation histogram).
    const c = await boot({ prefix, registry: { discover: ['alpha'] } });
    await boot({ prefix, registry: { service: { name: 'alpha', instanceId: 'a1' } } });
    await waitFor(() => c.get(ServiceDiscovery).instances('alpha').length === 1, {
      message: 'alpha',
    });
    const text = await c.get(KeelMetrics).render();
    expect(text).toMatch(
      /keel_registry_instances\{[^}]*service="alpha"[^}]*status="passing"[^}]*\} 1/,
    );
    expect(text).toMatch(/keel_registry_cache_age_seconds\{[^}]*service="alpha"/);
    expect(text).toMatch(
      /keel_registry_propagation_seconds_count\{[^}]*service="alpha"[^}]*\} [1-9]/,
    );
    expect(text).toContain('keel_registry_heartbeat_failures_total');
  });

  it('forRootAsync builds the same module from a factory', async () => {
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'async',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        RegistryModule.forRootAsync({ useFactory: () => ({ discover: ['delta'], ttlMs: 4_000 }) }),
      ],
    })
    class AsyncModule {}
    const app = await NestFactory.createApplicationContext(AsyncModule, { logger: false });
    try {
      expect(app.get(ServiceDiscovery).cacheState('delta')).toMatchObject({
        loaded: true,
        instances: 0,
      });
      expect(await app.get(RegistryHealthIndicator).check()).toMatchObject({ status: 'up' });
    } finally {
      await app.close();
    }
  });

  it("store: 'redis' without Redis in KeelCoreModule fails at startup with a KeelConfigError", async () => {
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'no-redis',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        RegistryModule.forRoot({ store: 'redis' }),
      ],
    })
    class NoRedisModule {}
    const error = await NestFactory.createApplicationContext(NoRedisModule, {
      logger: false,
      abortOnError: false,
    }).then(
      (app) => app.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(isKeelConfigError(error)).toBe(true);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^RegistryModule\.store \(forRoot\): 'redis' needs Redis, and none is configured/,
      ),
    ]);
  });
});
