import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  KeelCoreModule,
  KeelHealthIndicator,
  loadKeelConfig,
  type KeelHealthCheck,
  type KeelHealthReport,
} from '@keel/core';
import { HealthModule } from '@keel/health';
import { LockService, LocksModule, isLockTimeoutError } from '@keel/locks';
import { configProblems } from './support/config-problems.js';
import { uniquePrefix } from './support/services.js';

/**
 * Applications that configure themselves with @nestjs/config: ConfigModule reads a real .env
 * file, and Keel's modules take their settings from its ConfigService through forRootAsync.
 */

@KeelHealthIndicator({ key: 'slow' })
class SlowHealth implements KeelHealthCheck {
  check(): Promise<KeelHealthReport> {
    return new Promise((resolve) => setTimeout(() => resolve({ status: 'up' }), 2_000).unref());
  }
}

@Module({ providers: [SlowHealth] })
class SlowModule {}

/** The variables a .env file of these tests sets; ConfigModule copies them into process.env. */
const DOTENV_KEYS = ['KEEL_SERVICE_NAME', 'KEEL_HEALTH_TIMEOUT_MS', 'ORDERS_LOCK_WAIT_MS'];

function dotenv(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keel-dotenv-')), '.env');
  writeFileSync(file, text);
  return file;
}

describe('Keel with @nestjs/config', () => {
  let app: INestApplication | undefined;
  const before = Object.fromEntries(DOTENV_KEYS.map((key) => [key, process.env[key]]));
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('configures KeelCoreModule, HealthModule and LocksModule from a .env file through ConfigService', async () => {
    const envFilePath = dotenv(
      'KEEL_SERVICE_NAME=from-dotenv\nKEEL_HEALTH_TIMEOUT_MS=40\nORDERS_LOCK_WAIT_MS=150\n',
    );
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ isGlobal: true, envFilePath }),
        KeelCoreModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => ({
            redis: false,
            config: loadKeelConfig({ configService }),
          }),
        }),
        LocksModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => ({
            waitMs: Number(configService.getOrThrow<string>('ORDERS_LOCK_WAIT_MS')),
          }),
        }),
        HealthModule.forRoot(),
        SlowModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const server = app.getHttpServer();

    // KEEL_SERVICE_NAME (a core variable) labels every metric.
    const metrics = await request(server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/service="from-dotenv"/);
    // KEEL_HEALTH_TIMEOUT_MS (HealthModule's variable) bounds each readiness check.
    const ready = await request(server).get('/health/ready').expect(503);
    expect(ready.body.error.slow).toMatchObject({
      status: 'down',
      message: 'timeout of 40ms exceeded',
    });
    // ORDERS_LOCK_WAIT_MS, the application's own variable, given to LocksModule.forRootAsync.
    const locks = app.get(LockService);
    const key = uniquePrefix('dotenv');
    const held = await locks.acquire(key);
    try {
      const error = await locks.acquire(key).catch((e: unknown) => e);
      expect(isLockTimeoutError(error)).toBe(true);
      expect((error as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(140);
      expect((error as { waitedMs: number }).waitedMs).toBeLessThan(1_500);
    } finally {
      await held.release();
    }
  });

  it("takes what only the ConfigService holds (a load factory's values, not in process.env)", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [() => ({ KEEL_SERVICE_NAME: 'from-load', KEEL_METRICS_DEFAULT: true })],
        }),
        KeelCoreModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => ({
            redis: false,
            config: loadKeelConfig({ configService }),
          }),
        }),
        HealthModule.forRoot(),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(process.env.KEEL_SERVICE_NAME).toBeUndefined();
    const metrics = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/service="from-load"/);
    // KEEL_METRICS_DEFAULT came as a boolean; Keel reads it as 'true'.
    expect(metrics.text).toMatch(/^keel_process_process_cpu_seconds_total\{/m);
  });

  it('reports, one line each, what the ConfigService holds for Keel and Keel cannot read', () => {
    const configService = new ConfigService({
      KEEL_PORT: { http: 8080 },
      KEEL_SERVICE_NAME: 'my service',
      KEEL_KAFKA_BROKERS: ['a:9092', 'b:9093'],
    });
    expect(configProblems(() => loadKeelConfig({ configService, env: {} }))).toEqual([
      'KEEL_PORT (ConfigService): is of type object; Keel reads text, a number, a boolean or a list of them',
      "KEEL_SERVICE_NAME: must be 1–63 letters, digits, dots, dashes or underscores (got 'my service')",
    ]);
    const ok = loadKeelConfig({
      configService: new ConfigService({ KEEL_KAFKA_BROKERS: ['a:9092', 'b:9093'] }),
      env: {},
    });
    expect(ok.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
  });
});
