// Keel's whole Prometheus exposition, as a demo-like app serves it, passes Prometheus' own linter.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { z } from 'zod';
import { KeelCoreModule, loadKeelConfig, METHOD_DURATION_METRIC, Timed } from '@keel/core';
import {
  Bulkhead,
  CircuitBreaker,
  CoordinationModule,
  Fallback,
  Retry,
  Timeout,
  Validate,
} from '@keel/coordination';
import { HealthModule } from '@keel/health';
import { LocksModule, WithLock } from '@keel/locks';
import { RegistryModule, ServiceDiscovery } from '@keel/registry';
import { COORDINATION_METRICS } from '@keel/coordination/internal';
import { LOCKS_METRICS } from '@keel/locks/internal';
import { REGISTRY_METRICS } from '@keel/registry/internal';
import { promtoolCheckMetrics } from './support/promtool.js';
import { redisUrl, uniquePrefix } from './support/services.js';
import { waitFor } from './support/wait-for.js';

/** Every metric a Keel library declares: the exposition must hold each, and lint clean. */
const KEEL_METRIC_NAMES = [
  METHOD_DURATION_METRIC,
  ...Object.values(COORDINATION_METRICS).map((metric) => metric.name),
  ...Object.values(LOCKS_METRICS).map((metric) => metric.name),
  ...Object.values(REGISTRY_METRICS).map((metric) => metric.name),
];

class Unavailable extends Error {}

/** One method under every policy, so each library registers all of its metrics. */
@Injectable()
class Workload {
  calls = 0;

  @Timed()
  @Validate(z.string().min(1))
  @Fallback('fallback', { on: [Unavailable] })
  @Retry({ maxAttempts: 2, delayMs: 1, retryOn: [Unavailable] })
  @CircuitBreaker({ name: 'exposition', store: 'redis', minimumCalls: 100 })
  @Timeout(5_000)
  @Bulkhead({ name: 'exposition', maxConcurrent: 4 })
  @WithLock('work:{id}')
  async work(id: string, fail: boolean): Promise<string> {
    this.calls += 1;
    if (fail) throw new Unavailable(id);
    return id;
  }

  fallback(): string {
    return 'fallback';
  }
}

@Module({ providers: [Workload] })
class WorkloadModule {}

describe('Prometheus exposition of a demo-like app', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it.each(['false', 'true'])(
    'holds every Keel metric and passes promtool check metrics (KEEL_METRICS_DEFAULT=%s)',
    async (defaultMetrics) => {
      const serviceName = uniquePrefix('exposition');
      const config = loadKeelConfig({
        env: {
          KEEL_SERVICE_NAME: serviceName,
          REDIS_URL: redisUrl(),
          KEEL_REDIS_KEY_PREFIX: `${uniquePrefix('exposition')}:`,
          KEEL_METRICS_DEFAULT: defaultMetrics,
        },
      });
      @Module({
        imports: [
          KeelCoreModule.forRoot({ config, serviceName }),
          HealthModule.forRoot(),
          CoordinationModule.forRoot({}),
          LocksModule.forRoot(),
          RegistryModule.forRoot({
            service: { version: '1.0.0', tags: ['http'] },
            checks: { http: { path: '/health/live' }, intervalMs: 50 },
            discover: [serviceName],
          }),
          WorkloadModule,
        ],
      })
      class ExpositionApp {}
      app = await NestFactory.create(ExpositionApp, { logger: false, abortOnError: false });
      await app.listen(0, '127.0.0.1');
      const workload = app.get(Workload);
      await expect(workload.work('a', false)).resolves.toBe('a');
      await expect(workload.work('b', true)).resolves.toBe('fallback');
      await waitFor(() => app!.get(ServiceDiscovery).instances(serviceName).length === 1, {
        message: 'the app to discover itself',
      });

      const { text } = await request(app.getHttpServer()).get('/metrics').expect(200);
      const declared = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      expect(declared).toEqual(expect.arrayContaining(KEEL_METRIC_NAMES));
      expect(declared.some((name) => name.startsWith('keel_process_'))).toBe(
        defaultMetrics === 'true',
      );
      expect(await promtoolCheckMetrics(text)).toEqual({ code: 0, problems: [] });
    },
  );
});
