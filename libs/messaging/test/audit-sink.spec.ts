import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { AuditModule, AuditService } from '@keel/audit';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  MemoryTransport,
  MessageTransport,
  MessagingModule,
  OutboxAuditSink,
} from '@keel/messaging';
import { databaseUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

const apps: INestApplication[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function prefix(label: string): string {
  return uniquePrefix(label).replaceAll('-', '_').toLowerCase().slice(0, 36);
}

async function boot(dataSource: DataSource | undefined, outboxPrefix: string, auditPrefix: string) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'orders',
        redis: false,
        config: loadKeelConfig({ env: {} }),
      }),
      MessagingModule.forRoot(
        dataSource !== undefined
          ? { outbox: { dataSource, tablePrefix: outboxPrefix, pollIntervalMs: 50 } }
          : {},
      ),
      AuditModule.forRootAsync({
        inject: [EventBus],
        useFactory: (bus: EventBus) => ({
          tablePrefix: auditPrefix,
          writer: { flushIntervalMs: 10 },
          store: {
            type: 'postgres',
            url: databaseUrl(),
            sink: new OutboxAuditSink(bus, { topic: 'audit' }),
          },
        }),
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

describe('OutboxAuditSink: the audit trail streamed to Kafka through the outbox', () => {
  it('publishes every stored audit event once, keyed by its id; an event rolled back with its transaction is in neither', async () => {
    const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    const outboxPrefix = prefix('sink_outbox');
    const auditPrefix = prefix('sink_audit');
    cleanups.push(async () => {
      const admin = new pg.Client({ connectionString: databaseUrl() });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${outboxPrefix}_outbox`);
      for (const t of ['events', 'heads', 'checkpoints', 'pending', 'holds', 'retention_anchors']) {
        await admin.query(`DROP TABLE IF EXISTS ${auditPrefix}_${t} CASCADE`);
      }
      await admin.end();
      await dataSource.destroy();
    });
    const app = await boot(dataSource, outboxPrefix, auditPrefix);
    const audit = app.get(AuditService);
    const memory = app.get<MemoryTransport>(MessageTransport);
    for (let i = 0; i < 3; i++) {
      await audit.record({
        action: 'order.update',
        category: 'DATA_CHANGE',
        data: { i, password: 'hunter2' },
      });
    }
    // In a transaction that rolls back: the audit row and its outbox row go together.
    await dataSource
      .transaction(async (manager) => {
        await audit.record({ action: 'order.cancel', category: 'DATA_CHANGE' }, { manager });
        throw new Error('business change failed');
      })
      .catch(() => undefined);
    const admin = new pg.Client({ connectionString: databaseUrl() });
    await admin.connect();
    cleanups.push(() => admin.end());
    const stored = async () =>
      (await admin.query(`SELECT id::text FROM ${auditPrefix}_events ORDER BY seq`)).rows.map(
        (r: { id: string }) => r.id,
      );
    // Every stored audit event (the three updates, and whatever the anomaly rules add) is
    // published once, keyed by its id; nothing else is.
    await waitFor(
      async () => {
        const ids = await stored();
        return ids.length >= 3 && memory.records('audit').length === ids.length ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );
    const published = memory.records('audit');
    const bodies = published.map(
      (r) => JSON.parse(String(r.value)) as { id: string; action: string; data: unknown },
    );
    expect(published.map((r) => r.key)).toEqual(bodies.map((b) => b.id));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(bodies.length);
    expect(bodies.map((b) => b.id).sort()).toEqual((await stored()).sort());
    expect(published.every((r) => r.headers['ce_type'] === 'keel.audit.recorded')).toBe(true);
    expect(bodies.filter((b) => b.action === 'order.update')).toHaveLength(3);
    expect(bodies.filter((b) => b.action === 'order.cancel')).toEqual([]); // rolled back: in neither
    expect(JSON.stringify(bodies)).not.toContain('hunter2'); // as redacted in the trail
  }, 30_000);

  it('stops startup when the outbox it needs is off', async () => {
    const error = await boot(undefined, prefix('none'), prefix('sink_off')).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'KEEL_MESSAGING_OUTBOX_DISABLED',
      message: expect.stringMatching(/OutboxAuditSink needs the outbox/),
    });
  });
});
