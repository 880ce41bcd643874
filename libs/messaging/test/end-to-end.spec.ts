import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Inject, Post, type INestApplication } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KeelCoreModule, RequestContext, loadKeelConfig } from '@keel/core';
import { AuditModule, AuditQueryService, Audited } from '@keel/audit';
import {
  EventBus,
  Idempotent,
  MessagingModule,
  MessagingServer,
  type KeelCloudEvent,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { startKafkaBroker, type KafkaBrokerHandle } from '../../../test/support/fault-servers.js';
import { databaseUrl, redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

const OUTAGE_TOPIC = uniquePrefix('outage');
const ORDERS_TOPIC = uniquePrefix('orders-e2e');
const EVENTS = 1_000;
const KEYS = 20;

interface Tick {
  readonly n: number;
}

/** Effects in the order they were applied, per key, and how often each event was applied. */
const appliedByKey = new Map<string, number[]>();
const appliedCount = new Map<string, number>();
const seenCorrelation: (string | undefined)[] = [];

@Controller()
class Consumers {
  @EventPattern<Record<string, KeelCloudEvent<Tick>>>(OUTAGE_TOPIC)
  @Idempotent({ key: '{event.source}:{event.id}' })
  tick(@Payload() event: KeelCloudEvent<Tick>) {
    const key = event.subject!;
    appliedByKey.set(key, [...(appliedByKey.get(key) ?? []), event.data.n]);
    appliedCount.set(event.id, (appliedCount.get(event.id) ?? 0) + 1);
  }
}

@Controller()
class AuditedConsumer {
  @EventPattern<Record<string, KeelCloudEvent>>(ORDERS_TOPIC)
  @Audited({ action: 'payment.requested', category: 'DATA_CHANGE' })
  @Idempotent({ key: '{event.id}' })
  orderCreated(@Payload() event: KeelCloudEvent) {
    expect(event.type).toBe('order.created');
    seenCorrelation.push(RequestContext.correlationId());
  }
}

let dataSource: DataSource;

@Controller('orders')
class OrdersController {
  constructor(@Inject(EventBus) private readonly bus: EventBus) {}

  @Post()
  async create(@Body() body: { id: string }) {
    await dataSource.transaction((manager) =>
      this.bus.publishInTransaction(manager, ORDERS_TOPIC, {
        type: 'order.created',
        key: body.id,
        data: body,
      }),
    );
    return { id: body.id };
  }
}

const apps: INestApplication[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tablePrefix(): string {
  const prefix = uniquePrefix('e2e').replaceAll('-', '_').toLowerCase().slice(0, 40);
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${prefix}_outbox`);
    await client.end();
  });
  return prefix;
}

async function start(
  messaging: MessagingModuleOptions,
  withAudit?: string,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'orders',
        redis: redisUrl(),
        redisKeyPrefix: `${uniquePrefix('e2e')}:`,
        config: loadKeelConfig({ env: {} }),
      }),
      MessagingModule.forRoot(messaging),
      ...(withAudit !== undefined
        ? [AuditModule.forRoot({ store: { type: 'file', directory: withAudit } })]
        : []),
    ],
    controllers: withAudit !== undefined ? [AuditedConsumer, OrdersController] : [Consumers],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.init();
  apps.push(app);
  return app;
}

const consumer = (groupId: string) => ({
  groupId,
  fromBeginning: true,
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 100,
  retryTopicDelaysMs: [],
});

describe('outbox → Kafka → MessagingServer → inbox', () => {
  it('delivers 1 000 events committed while the broker is down, each applied once, every key in order', async () => {
    const broker: KafkaBrokerHandle = await startKafkaBroker({ topics: { [OUTAGE_TOPIC]: 2 } });
    cleanups.push(() => broker.stop());
    dataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    cleanups.push(() => dataSource.destroy());
    const app = await start({
      kafka: { brokers: broker.brokers, retries: 2, connectionTimeoutMs: 500 },
      outbox: { url: databaseUrl(), tablePrefix: tablePrefix(), retryBaseMs: 50, retryMaxMs: 500 },
      consumer: consumer(uniquePrefix('outage-group')),
    });
    const bus = app.get(EventBus);
    await broker.command('down 1');
    const ids: string[] = [];
    for (let n = 0; n < EVENTS; n++) {
      const key = `k-${n % KEYS}`;
      const { event } = await dataSource.transaction((manager) =>
        bus.publishInTransaction(manager, OUTAGE_TOPIC, {
          type: 'tick',
          key,
          subject: key,
          data: { n },
        }),
      );
      ids.push(event.id);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the relay fails and backs off meanwhile
    await broker.command('up 1');
    await waitFor(() => ids.every((id) => appliedCount.has(id)), {
      timeoutMs: 120_000,
      message: `${EVENTS} events applied`,
    });
    expect(ids.map((id) => appliedCount.get(id))).toEqual(ids.map(() => 1));
    for (const [key, ns] of appliedByKey) {
      expect(`${key}: ${ns.join(',')}`).toBe(`${key}: ${[...ns].sort((a, b) => a - b).join(',')}`);
    }
    expect(appliedByKey.size).toBe(KEYS);
  }, 180_000);
});

describe('one correlation id from HTTP to the audit trail', () => {
  it('HTTP → outbox → Kafka → consumer → audit event carry the request’s correlation id', async () => {
    const broker: KafkaBrokerHandle = await startKafkaBroker({ topics: { [ORDERS_TOPIC]: 1 } });
    cleanups.push(() => broker.stop());
    dataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    cleanups.push(() => dataSource.destroy());
    const directory = mkdtempSync(join(tmpdir(), 'keel-e2e-audit-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const app = await start(
      {
        kafka: { brokers: broker.brokers },
        outbox: { url: databaseUrl(), tablePrefix: tablePrefix(), pollIntervalMs: 50 },
        consumer: consumer(uniquePrefix('e2e-group')),
      },
      directory,
    );
    await request(app.getHttpServer())
      .post('/orders')
      .set('x-correlation-id', 'corr-e2e-42')
      .send({ id: 'o-42' })
      .expect(201);
    await waitFor(() => seenCorrelation.length === 1, { timeoutMs: 30_000 });
    expect(seenCorrelation).toEqual(['corr-e2e-42']);
    const audit = app.get(AuditQueryService);
    const [entry] = await waitFor(async () => {
      const { items } = await audit.query({ action: 'payment.requested' });
      return items.length > 0 ? items : undefined;
    });
    expect(entry).toMatchObject({
      action: 'payment.requested',
      correlationId: 'corr-e2e-42',
      outcome: 'success',
    });
  }, 60_000);
});
