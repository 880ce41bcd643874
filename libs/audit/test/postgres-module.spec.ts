import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  Param,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KeelCoreModule, KeelError, loadKeelConfig } from '@keel/core';
import {
  Audited,
  AuditModule,
  AuditQueryService,
  AuditService,
  type AuditModuleOptions,
  type AuditRecord,
} from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import { startTcpProxy } from '../../../test/support/tcp-proxy.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { dropTables, uniqueTablePrefix } from './support.js';

@Injectable()
class Orders {
  @Audited({
    action: 'order.read',
    category: 'DATA_ACCESS',
    resource: { type: 'order', id: '{id}' },
  })
  async read(id: string): Promise<{ id: string }> {
    if (id === 'missing')
      throw new KeelError('KEEL_TEST_NOT_FOUND', 'no such order', { status: 404 });
    return { id };
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: Orders) {}

  @Get(':id')
  @Audited({
    action: 'order.view',
    category: 'DATA_ACCESS',
    resource: { type: 'order', id: '{id}' },
  })
  view(@Param('id') id: string) {
    if (id === 'secret') throw new ForbiddenException();
    return this.orders.read(id);
  }
}

describe('AuditModule on real PostgreSQL', () => {
  let app: INestApplication | undefined;
  const prefixes: string[] = [];
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const prefix of prefixes.splice(0)) await dropTables(prefix);
  });

  async function boot(
    options: Omit<AuditModuleOptions, 'store'> & { url?: string; dataSource?: DataSource } = {},
  ) {
    const tablePrefix = uniqueTablePrefix();
    prefixes.push(tablePrefix);
    const { url = databaseUrl(), dataSource, ...rest } = options;
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'orders',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        AuditModule.forRoot({
          ...rest,
          tablePrefix,
          store:
            dataSource !== undefined ? { type: 'postgres', dataSource } : { type: 'postgres', url },
          writer: { flushIntervalMs: 10, retryMaxMs: 200, ...rest.writer },
          // No hour is off-hours: the suite's event counts must not depend on when it runs.
          anomalies: {
            offHours: { startHour: 0, endHour: 24, weekends: false },
            ...rest.anomalies,
          },
        }),
      ],
      controllers: [OrdersController],
      providers: [Orders],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  async function all(target: INestApplication): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for await (const record of target.get(AuditQueryService).records({})) out.push(record);
    return out;
  }

  it('@Audited records actor context, outcome and error code over HTTP and on a provider', async () => {
    const target = await boot();
    const http = target.getHttpServer();
    const headers = {
      'x-correlation-id': 'corr-42',
      'x-tenant-id': 'acme',
      'user-agent': 'audit-test/1.0',
    };
    await request(http).get('/orders/o-1').set(headers).expect(200);
    await request(http).get('/orders/missing').set(headers).expect(404);
    await request(http).get('/orders/secret').set(headers).expect(403);
    const events = await waitFor(async () => {
      const rows = await all(target);
      return rows.length >= 5 ? rows : undefined;
    });
    const summary = events.map((e) => [e.action, e.resourceId, e.outcome, e.errorCode]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['order.read', 'o-1', 'success', null],
        ['order.view', 'o-1', 'success', null],
        ['order.read', 'missing', 'failure', 'KEEL_TEST_NOT_FOUND'],
        ['order.view', 'missing', 'failure', 'KEEL_TEST_NOT_FOUND'],
        ['order.view', 'secret', 'denied', 'http_403'],
      ]),
    );
    for (const event of events) {
      expect(event).toMatchObject({
        tenant: 'acme',
        correlationId: 'corr-42',
        userAgent: 'audit-test/1.0',
        service: 'orders',
      });
      expect(event.ip).toMatch(/127\.0\.0\.1/);
      expect(event.durationMs).toEqual(expect.any(Number));
    }
  });

  it('a record() in a rolled-back transaction leaves no row; a committed one leaves exactly one', async () => {
    const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    try {
      const target = await boot({ dataSource });
      const audit = target.get(AuditService);
      await expect(
        dataSource.transaction(async (manager) => {
          await audit.record(
            {
              action: 'order.create',
              category: 'DATA_CHANGE',
              resource: { type: 'order', id: 'rolled-back' },
            },
            { manager },
          );
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
      await dataSource.transaction(async (manager) => {
        await audit.record(
          {
            action: 'order.create',
            category: 'DATA_CHANGE',
            resource: { type: 'order', id: 'committed' },
          },
          { manager },
        );
      });
      const events = await waitFor(async () => {
        const rows = await all(target);
        return rows.length >= 1 ? rows : undefined;
      });
      // A further flush must not bring the rolled-back one, nor a second copy.
      await audit.record({ action: 'marker', category: 'SYSTEM_TASK' }, {});
      const after = await waitFor(async () => {
        const rows = await all(target);
        return rows.some((r) => r.action === 'marker') ? rows : undefined;
      });
      expect(events.map((e) => e.resourceId)).toEqual(['committed']);
      expect(after.filter((e) => e.action === 'order.create').map((e) => e.resourceId)).toEqual([
        'committed',
      ]);
    } finally {
      await app?.close();
      app = undefined;
      await dataSource.destroy();
    }
  });

  it('loses none of 50 000 events while the database is unreachable for 10 s, and stores none twice', async () => {
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(databaseUrl()).port || 5432),
    });
    try {
      const url = new URL(databaseUrl());
      url.port = String(proxy.port);
      url.hostname = '127.0.0.1';
      const target = await boot({
        url: url.toString(),
        writer: { batchSize: 1_000, retryBaseMs: 50, retryMaxMs: 500 },
      });
      const audit = target.get(AuditService);
      const record = (i: number) =>
        audit.record({
          action: 'load.event',
          category: 'SYSTEM_TASK',
          resource: { type: 'n', id: String(i) },
        });
      for (let i = 0; i < 10_000; i++) await record(i);
      await proxy.cut();
      const outageStart = Date.now();
      for (let i = 10_000; i < 50_000; i++) await record(i);
      // Keep the database away for 10 s in all, whatever the load took.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - outageStart))),
      );
      await proxy.restore();
      const count = await waitFor(
        async () => {
          const pool = new (await import('pg')).default.Client({ connectionString: databaseUrl() });
          await pool.connect();
          try {
            const tables = prefixes.at(-1)!;
            const { rows } = await pool.query<{ n: string; d: string }>(
              `SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${tables}_events`,
            );
            return Number(rows[0]!.n) >= 50_000 ? rows[0]! : undefined;
          } finally {
            await pool.end();
          }
        },
        { timeoutMs: 120_000 },
      );
      expect(count).toEqual({ n: '50000', d: '50000' });
    } finally {
      await proxy.close();
    }
  }, 180_000);
});
