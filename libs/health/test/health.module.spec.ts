import { afterEach, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  KeelConfigError,
  KeelCoreModule,
  KeelHealthIndicator,
  KeelMetrics,
  loadKeelConfig,
  type KeelHealthCheck,
  type KeelHealthReport,
} from '@keel/core';
import { HealthModule, KeelHealthService } from '@keel/health';
import { promtoolCheckMetrics } from '../../../test/support/promtool.js';

let report: KeelHealthReport = { status: 'up' };
let delayMs = 0;

@KeelHealthIndicator({ key: 'widgets' })
class WidgetsHealth implements KeelHealthCheck {
  async check(): Promise<KeelHealthReport> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    return report;
  }
}

@Module({ providers: [WidgetsHealth] })
class WidgetsModule {}

let gadgetDetails: Record<string, unknown> = {};

@KeelHealthIndicator({ key: 'gadgets' })
class GadgetsHealth implements KeelHealthCheck {
  async check(): Promise<KeelHealthReport> {
    return { status: 'up', details: gadgetDetails };
  }
}

/** Provides an indicator by factory, and asks for KeelHealthService without importing HealthModule. */
@Injectable()
class ReadinessReader {
  constructor(@Inject(KeelHealthService) readonly health: KeelHealthService) {}
}

@Module({
  providers: [{ provide: 'gadgets', useFactory: () => new GadgetsHealth() }, ReadinessReader],
})
class GadgetsModule {}

describe('HealthModule', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    report = { status: 'up' };
    delayMs = 0;
    gadgetDetails = {};
  });

  async function boot(
    health: ReturnType<typeof HealthModule.forRoot>,
    env: Record<string, string> = {},
    extra: (typeof GadgetsModule)[] = [],
  ): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRootAsync({
          useFactory: () => ({ config: loadKeelConfig({ env }) }),
        }),
        health,
        WidgetsModule,
        ...extra,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  it('aggregates indicators that any module contributes', async () => {
    const server = (await boot(HealthModule.forRoot())).getHttpServer();
    report = { status: 'up', details: { count: 3 } };
    const ok = await request(server).get('/health/ready').expect(200);
    // Terminus' attempt adds how long the check took.
    expect(ok.body.details.widgets).toEqual({
      status: 'up',
      count: 3,
      responseTime: expect.any(Number),
    });

    report = { status: 'degraded', details: { reason: 'serving from cache' } };
    const degraded = await request(server).get('/health/ready').expect(200);
    expect(degraded.body.details.widgets).toMatchObject({
      status: 'degraded',
      reason: 'serving from cache',
    });
    expect(degraded.body.status).toBe('degraded');

    report = { status: 'down', details: { reason: 'no widgets' } };
    const down = await request(server).get('/health/ready').expect(503);
    expect(down.body.error.widgets).toMatchObject({ status: 'down', reason: 'no widgets' });
    await request(server).get('/health/live').expect(200);
  });

  it('reports a check that exceeds its time limit as down', async () => {
    const server = (await boot(HealthModule.forRoot({ timeoutMs: 50 }))).getHttpServer();
    delayMs = 1_000;
    const res = await request(server).get('/health/ready').expect(503);
    expect(res.body.error.widgets).toMatchObject({
      status: 'down',
      message: 'timeout of 50ms exceeded', // Terminus' withTimeout()
    });
  });

  it('takes the time limit from KEEL_HEALTH_TIMEOUT_MS, its own module variable', async () => {
    const server = (
      await boot(HealthModule.forRoot(), { KEEL_HEALTH_TIMEOUT_MS: '40' })
    ).getHttpServer();
    delayMs = 1_000;
    const res = await request(server).get('/health/ready').expect(503);
    expect(res.body.error.widgets).toMatchObject({
      status: 'down',
      message: 'timeout of 40ms exceeded',
    });
  });

  it('finds an indicator provided by a factory, and is global: any module injects KeelHealthService', async () => {
    const booted = await boot(HealthModule.forRoot(), {}, [GadgetsModule]);
    expect(booted.get(ReadinessReader).health.keys).toEqual(['widgets', 'gadgets']);
    const res = await request(booted.getHttpServer()).get('/health/ready').expect(200);
    expect(res.body.details.gadgets).toMatchObject({ status: 'up' });
  });

  it('reports a check whose details use a key Terminus reserves as down, and keeps answering', async () => {
    const server = (await boot(HealthModule.forRoot(), {}, [GadgetsModule])).getHttpServer();
    gadgetDetails = { responseTime: 'mine' };
    const res = await request(server).get('/health/ready').expect(503);
    expect(res.body.error.gadgets).toEqual({
      status: 'down',
      message: '"responseTime" is a reserved key and cannot be used in additional data',
    });
    expect(res.body.details.widgets).toMatchObject({ status: 'up' });
  });

  it('fails at startup when redis: true but Keel has no Redis, instead of reporting memory as up', async () => {
    const error = await boot(HealthModule.forRoot({ redis: true })).catch((e: unknown) => e);
    app = undefined;
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^HealthModule\.redis \(forRoot\): true needs Redis, and none is configured/,
      ),
    ]);
  });

  it('serves Keel metrics in Prometheus format on a configurable path, or not at all', async () => {
    const withPaths = await boot(HealthModule.forRoot({ path: 'status', metricsPath: 'prom' }));
    withPaths.get(KeelMetrics).counter({ name: 'keel_test_total', help: 'test' }).inc();
    const server = withPaths.getHttpServer();
    await request(server).get('/status/live').expect(200);
    const metrics = await request(server).get('/prom').expect(200);
    expect(metrics.text).toContain('keel_test_total{service="keel-service"} 1');
    await request(server).get('/metrics').expect(404);
    await app!.close();
    const none = await boot(HealthModule.forRoot({ metricsPath: false }));
    await request(none.getHttpServer()).get('/metrics').expect(404);
  });

  it.each(['false', 'true'])(
    'serves /metrics that promtool check metrics accepts (KEEL_METRICS_DEFAULT=%s)',
    async (defaultMetrics) => {
      const server = (
        await boot(HealthModule.forRoot(), { KEEL_METRICS_DEFAULT: defaultMetrics })
      ).getHttpServer();
      app!.get(KeelMetrics).counter({ name: 'keel_test_requests_total', help: 'test' }).inc();
      const { text } = await request(server).get('/metrics').expect(200);
      expect(text).toContain('keel_test_requests_total');
      if (defaultMetrics === 'true') {
        expect(text).toMatch(/^keel_process_process_cpu_seconds_total\{/m);
        // The per-type gauges stay; their sum is what the dropped `_total` gauges reported.
        expect(text).toContain('# TYPE keel_process_nodejs_active_handles gauge');
        expect(text).toContain('# TYPE keel_process_nodejs_active_resources gauge');
        expect(text).not.toMatch(/^# TYPE keel_process_nodejs_active_\w+_total /m);
      } else {
        expect(text).not.toContain('keel_process_');
      }
      expect(await promtoolCheckMetrics(text)).toEqual({ code: 0, problems: [] });
    },
  );

  it('promtool rejects what it should, so the checks above can fail', async () => {
    const result = await promtoolCheckMetrics(
      '# HELP keel_things_total Things.\n# TYPE keel_things_total gauge\nkeel_things_total 1\n',
    );
    expect(result.code).not.toBe(0);
    expect(result.problems).toEqual([
      'keel_things_total non-counter metrics should not have "_total" suffix',
    ]);
  });

  it('fails at startup when a database check is required but there is no DataSource', async () => {
    await expect(boot(HealthModule.forRoot({ database: true }))).rejects.toThrow(
      /no TypeORM DataSource is provided/,
    );
    app = undefined;
  });
});
