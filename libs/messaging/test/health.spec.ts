import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { HealthModule } from '@keel/health';
import {
  EventBus,
  MessagingHealthIndicator,
  MessagingModule,
  MessagingServer,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { freePort } from '../../../test/support/fault-servers.js';
import { databaseUrl, kafkaBrokers, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

const TOPIC = uniquePrefix('health');

@Controller()
class Listener {
  @EventPattern<string>(TOPIC)
  handle() {}
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(messaging: MessagingModuleOptions, serve: boolean) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'orders',
        redis: false,
        config: loadKeelConfig({ env: {} }),
      }),
      MessagingModule.forRoot(messaging),
      HealthModule.forRoot(),
    ],
    controllers: serve ? [Listener] : [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  if (serve) {
    app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }
  await app.init();
  return app;
}

const consumer = {
  groupId: uniquePrefix('health-group'),
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 100,
};

describe('MessagingHealthIndicator', () => {
  it('is up on the embedded transport, and in /health/ready', async () => {
    const app = await boot({ consumer }, true);
    const ready = await request(app.getHttpServer()).get('/health/ready').expect(200);
    expect(ready.body.details.messaging).toMatchObject({
      status: 'up',
      transport: 'memory',
      producer: 'connected',
      consumer: 'joined',
      parkedKeys: 0,
    });
  });

  it('is up once the consumer group has joined on Kafka', async () => {
    const app = await boot({ kafka: { brokers: kafkaBrokers() }, consumer }, true);
    const health = app.get(MessagingHealthIndicator);
    await waitFor(async () => (await health.check()).status === 'up', { timeoutMs: 30_000 });
    expect((await health.check()).details).toMatchObject({
      transport: 'kafka',
      producer: 'connected',
      consumer: 'joined',
    });
  }, 40_000);

  it('is degraded while Kafka is unreachable, with the outbox backlog and its age, and exports them as metrics', async () => {
    const port = await freePort(); // nothing listens there
    const tablePrefix = uniquePrefix('health').replaceAll('-', '_').toLowerCase().slice(0, 40);
    const app = await boot(
      {
        kafka: { brokers: [`127.0.0.1:${port}`], connectionTimeoutMs: 200, retries: 1 },
        outbox: { url: databaseUrl(), tablePrefix, pollIntervalMs: 60_000 },
      },
      false,
    );
    const db = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    try {
      await db.transaction((manager) =>
        app
          .get(EventBus)
          .publishInTransaction(manager, 'orders', { type: 'order.created', data: { id: 1 } }),
      );
      const report = await app.get(MessagingHealthIndicator).check();
      expect(report).toMatchObject({
        status: 'degraded',
        details: {
          transport: 'kafka',
          producer: 'disconnected',
          consumer: 'not started',
          outboxBacklog: 1,
        },
      });
      expect(report.details!['outboxOldestMs']).toEqual(expect.any(Number));
      expect(JSON.stringify(report)).not.toContain('postgres://');
      const metrics = await request(app.getHttpServer()).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^keel_messaging_outbox_backlog\{service="orders"\} 1$/m);
      expect(metrics.text).toMatch(/^keel_messaging_outbox_lag_seconds\{service="orders"\} \d/m);
      expect(metrics.text).toMatch(/^keel_messaging_parked_keys\{service="orders"\} 0$/m);
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${tablePrefix}_outbox`);
      await db.destroy();
    }
  });
});
