import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, RequestContext, loadKeelConfig } from '@keel/core';
import {
  AuditHealthIndicator,
  AuditModule,
  AuditService,
  linkEvents,
  isAuditError,
  type AuditModuleOptions,
  type AuditRecord,
  type AuditStore,
  type PreparedAuditEvent,
} from '@keel/audit';
import { waitFor } from '../../../test/support/wait-for.js';

/**
 * A custom store (the `{ type: 'custom' }` option) that keeps chains in memory and can be made
 * to fail: it exercises the writer's batching, retry and shutdown, not storage.
 */
class ScriptedStore implements AuditStore {
  readonly kind = 'scripted';
  readonly records: AuditRecord[] = [];
  readonly batches: { size: number; retry: boolean }[] = [];
  failuresLeft = 0;
  closed = 0;
  inits = 0;
  private readonly chainHeads = new Map<string, { seq: number; hash: string }>();

  async init() {
    this.inits++;
  }
  async append(events: readonly PreparedAuditEvent[], options?: { retry?: boolean }) {
    this.batches.push({ size: events.length, retry: options?.retry === true });
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('store unreachable');
    }
    const out: AuditRecord[] = [];
    for (const event of events) {
      const [record] = linkEvents([event], this.chainHeads.get(event.chain));
      this.chainHeads.set(event.chain, record);
      out.push(record);
    }
    this.records.push(...out);
    return out;
  }
  async query() {
    return [];
  }
  async readChain() {
    return [];
  }
  async heads() {
    return [];
  }
  async appendCheckpoint() {}
  async checkpoints() {
    return [];
  }
  async partitions() {
    return [];
  }
  async countInPartition() {
    return 0;
  }
  async lastInPartition() {
    return [];
  }
  async dropPartition() {}
  async close() {
    this.closed++;
  }
}

@Injectable()
class Probe {
  constructor(readonly audit: AuditService) {}
}

describe('AuditModule', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(options: AuditModuleOptions) {
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'audit-test',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        AuditModule.forRoot(options),
      ],
      providers: [Probe],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  it('records an event completed from the request context, on a shard chain, and redacted', async () => {
    const store = new ScriptedStore();
    const audit = (await boot({ store: { type: 'custom', store } })).get(AuditService);
    await RequestContext.run(
      {
        correlationId: 'corr-1',
        tenant: 'acme',
        actor: 'alice',
        ip: '10.0.0.1',
        userAgent: 'jest',
      },
      () =>
        audit.record({
          action: 'order.update',
          category: 'DATA_CHANGE',
          tags: ['sox', 'b', 'sox'],
          data: { password: 'hunter2', amount: 5 },
        }),
    );
    const [record] = await waitFor(() => (store.records.length === 1 ? store.records : undefined));
    expect(record).toMatchObject({
      action: 'order.update',
      category: 'DATA_CHANGE',
      level: 'INFO',
      outcome: 'success',
      actor: 'alice',
      tenant: 'acme',
      ip: '10.0.0.1',
      userAgent: 'jest',
      correlationId: 'corr-1',
      service: 'audit-test',
      tags: ['b', 'sox'],
      data: { password: '[REDACTED]', amount: 5 },
      seq: 1,
    });
    expect(record.chain).toMatch(/^shard-(\d|1[0-5])$/);
    expect(record.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(store.inits).toBe(1);
  });

  it('chains by tenant when asked, `tenant--` without one', async () => {
    const store = new ScriptedStore();
    const audit = (await boot({ store: { type: 'custom', store }, chain: { by: 'tenant' } })).get(
      AuditService,
    );
    await audit.record({ action: 'a', category: 'SECURITY', tenant: 'acme' });
    await audit.record({ action: 'b', category: 'SECURITY' });
    await waitFor(() => store.records.length === 2);
    expect(store.records.map((r) => r.chain).sort()).toEqual(['tenant--', 'tenant-acme']);
  });

  it.each([
    [{ action: 'x', category: 'NOPE' }, 'category'],
    [{ action: ' ', category: 'SECURITY' }, 'action'],
    [{ action: 'x', category: 'SECURITY', level: 'LOUD' }, 'level'],
    [{ action: 'x', category: 'SECURITY', outcome: 'maybe' }, 'outcome'],
    [{ action: 'x', category: 'SECURITY', tenant: 'a:b' }, 'tenant'],
  ])('refuses a malformed event %j, naming the field', async (event, field) => {
    const audit = (await boot({ store: { type: 'custom', store: new ScriptedStore() } })).get(
      AuditService,
    );
    const error = await audit.record(event as never).catch((e: unknown) => e);
    expect(isAuditError(error) && error.code).toBe('KEEL_AUDIT_INVALID_EVENT');
    expect((error as Error).message).toContain(field);
  });

  it('accepts categories added in forRoot', async () => {
    const store = new ScriptedStore();
    const audit = (await boot({ store: { type: 'custom', store }, categories: ['BILLING'] })).get(
      AuditService,
    );
    await audit.record({ action: 'invoice.send', category: 'BILLING' as never });
    await waitFor(() => store.records.length === 1);
    expect(store.records[0].category).toBe('BILLING');
  });

  it('refuses a transactional record on a store without transactions', async () => {
    const audit = (await boot({ store: { type: 'custom', store: new ScriptedStore() } })).get(
      AuditService,
    );
    const error = await audit
      .record({ action: 'x', category: 'SECURITY' }, { manager: { query: async () => [] } })
      .catch((e: unknown) => e);
    expect(isAuditError(error) && error.code).toBe('KEEL_AUDIT_UNSUPPORTED');
  });

  it('retries a failed batch with retry: true, degraded meanwhile, and never loses it', async () => {
    const store = new ScriptedStore();
    store.failuresLeft = 3;
    const booted = await boot({
      store: { type: 'custom', store },
      writer: { retryBaseMs: 20, retryMaxMs: 40 },
    });
    const audit = booted.get(AuditService);
    const health = booted.get(AuditHealthIndicator);
    for (let i = 0; i < 10; i++) await audit.record({ action: `a${i}`, category: 'SECURITY' });
    await waitFor(async () => (await health.check()).status === 'degraded');
    await waitFor(() => store.records.length === 10);
    expect(store.batches[0].retry).toBe(false);
    expect(store.batches.slice(1).every((b) => b.retry)).toBe(true);
    expect(store.records.map((r) => r.action)).toEqual([...Array(10).keys()].map((i) => `a${i}`));
    expect(await health.check()).toMatchObject({ status: 'up', details: { queueDepth: 0 } });
  });

  it('reports down after the store failed for 3 × retryMaxMs, without the error text', async () => {
    const store = new ScriptedStore();
    store.failuresLeft = Number.MAX_SAFE_INTEGER;
    const booted = await boot({
      store: { type: 'custom', store },
      writer: { retryBaseMs: 5, retryMaxMs: 10, drainTimeoutMs: 50 },
    });
    await booted.get(AuditService).record({ action: 'x', category: 'SECURITY' });
    const report = await waitFor(async () => {
      const r = await booted.get(AuditHealthIndicator).check();
      return r.status === 'down' ? r : undefined;
    });
    expect(report.details).toMatchObject({ store: 'scripted', queueDepth: 1 });
    expect(JSON.stringify(report)).not.toContain('unreachable');
  });

  it('sync mode resolves once the batch has committed', async () => {
    const store = new ScriptedStore();
    const audit = (await boot({ store: { type: 'custom', store }, writer: { mode: 'sync' } })).get(
      AuditService,
    );
    await audit.record({ action: 'x', category: 'SECURITY' });
    expect(store.records).toHaveLength(1);
  });

  it('drop mode counts what a full buffer drops and says degraded', async () => {
    const store = new ScriptedStore();
    store.failuresLeft = Number.MAX_SAFE_INTEGER;
    const booted = await boot({
      store: { type: 'custom', store },
      writer: {
        bufferSize: 5,
        batchSize: 5,
        onFull: 'drop',
        retryMaxMs: 10_000,
        drainTimeoutMs: 10,
      },
    });
    const audit = booted.get(AuditService);
    for (let i = 0; i < 8; i++) await audit.record({ action: `a${i}`, category: 'SECURITY' });
    expect(await booted.get(AuditHealthIndicator).check()).toMatchObject({
      status: 'degraded',
      details: { dropped: 3, queueDepth: 5 },
    });
  });

  it('block mode waits for room, then takes the event', async () => {
    const store = new ScriptedStore();
    store.failuresLeft = 1;
    const audit = (
      await boot({
        store: { type: 'custom', store },
        writer: { bufferSize: 2, batchSize: 2, retryBaseMs: 30, retryMaxMs: 30 },
      })
    ).get(AuditService);
    await audit.record({ action: 'a0', category: 'SECURITY' });
    await audit.record({ action: 'a1', category: 'SECURITY' });
    let third = false;
    const pending = audit.record({ action: 'a2', category: 'SECURITY' }).then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    await pending;
    await waitFor(() => store.records.length === 3);
  });

  it('drains the buffer at shutdown, then closes the store once; refuses events afterwards', async () => {
    const store = new ScriptedStore();
    const booted = await boot({
      store: { type: 'custom', store },
      writer: { flushIntervalMs: 60_000 },
    });
    const audit = booted.get(AuditService);
    for (let i = 0; i < 5; i++) await audit.record({ action: `a${i}`, category: 'SECURITY' });
    expect(store.records).toHaveLength(0);
    await booted.close();
    app = undefined;
    expect(store.records).toHaveLength(5);
    expect(store.closed).toBe(1);
    const error = await audit
      .record({ action: 'late', category: 'SECURITY' })
      .catch((e: unknown) => e);
    expect(isAuditError(error) && error.code).toBe('KEEL_AUDIT_SHUT_DOWN');
  });
});
