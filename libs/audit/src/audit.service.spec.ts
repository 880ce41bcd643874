import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KeelMetrics, RequestContext, loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { PreparedAuditEvent } from './audit-event.js';
import { AuditError } from './audit.errors.js';
import { AuditService } from './audit.service.js';
import { resolveAuditSettings } from './audit.settings.js';
import type { AuditModuleOptions } from './interfaces/audit-options.interface.js';
import type { AuditEntityManager, AuditStore } from './stores/audit.store.js';
import { FileAuditStore } from './stores/file-audit.store.js';
import { AuditCommitHub } from './writer/audit-commit-hub.js';
import { AuditWriter } from './writer/audit-writer.js';

describe('AuditService (writer and file store, sync mode)', () => {
  let directory: string;
  let store: FileAuditStore;
  let writer: AuditWriter | undefined;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keel-audit-service-'));
    store = new FileAuditStore({ directory });
  });

  afterEach(async () => {
    await writer?.beforeApplicationShutdown();
    writer = undefined;
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /**
   * The service on a started writer. Sync mode with batches of one: record() resolves once
   * the event is committed, with no timer involved.
   */
  async function service(options: AuditModuleOptions = {}, onto: AuditStore = store) {
    const core = resolveCoreSettings({
      serviceName: 'orders',
      redis: false,
      config: loadKeelConfig({ env: {} }),
    });
    const settings = resolveAuditSettings(
      { ...options, writer: { mode: 'sync', batchSize: 1, ...options.writer } },
      core,
    );
    const hub = new AuditCommitHub();
    const metrics = new KeelMetrics();
    writer = new AuditWriter(settings, onto, hub, metrics);
    await writer.onApplicationBootstrap();
    return { audit: new AuditService(settings, onto, writer, hub, metrics), hub, metrics };
  }

  it('records a prepared event, completed from the request context, once it is stored', async () => {
    const { audit } = await service();
    await RequestContext.run({ correlationId: 'req-1', actor: 'alice', tenant: 'acme' }, () =>
      audit.record({
        action: 'order.refund',
        category: 'DATA_CHANGE',
        resource: { type: 'order', id: 'o-9' },
        data: { amount: 5, password: 'x' },
      }),
    );
    const [stored] = await store.query({}, { limit: 10 });
    expect(stored).toMatchObject({
      seq: 1,
      service: 'orders',
      action: 'order.refund',
      actor: 'alice',
      tenant: 'acme',
      correlationId: 'req-1',
      resourceType: 'order',
      resourceId: 'o-9',
      data: { amount: 5, password: '[REDACTED]' },
    });
  });

  it('rejects a malformed event, naming the field, and stores nothing', async () => {
    const { audit } = await service();
    await expect(audit.record({ action: '', category: 'DATA_CHANGE' })).rejects.toMatchObject({
      code: 'KEEL_AUDIT_INVALID_EVENT',
      message: 'audit event rejected: action must be a non-empty string',
    });
    expect(await store.query({}, { limit: 10 })).toEqual([]);
  });

  it('knows the built-in and the configured categories', async () => {
    const { audit } = await service({ categories: ['BILLING'] });
    expect(audit.categories.has('BILLING')).toBe(true);
    expect(audit.categories.has('SECURITY')).toBe(true);
    expect(audit.categories.has('NOPE')).toBe(false);
  });

  it('counts recorded events by category and outcome', async () => {
    const { audit, metrics } = await service();
    await audit.record({ action: 'a', category: 'DATA_ACCESS' });
    await audit.record({ action: 'a', category: 'DATA_ACCESS' });
    await audit.record({ action: 'b', category: 'SECURITY', outcome: 'denied' });
    const values = (
      await metrics.registry.getSingleMetric('keel_audit_events_recorded_total')!.get()
    ).values.map((v) => [v.labels['category'], v.labels['outcome'], v.value]);
    expect(values).toEqual([
      ['DATA_ACCESS', 'success', 2],
      ['SECURITY', 'denied', 1],
    ]);
  });

  it('lets commit listeners record through the hub (an anomaly is an event too)', async () => {
    const { hub } = await service();
    await hub.record({ action: 'anomaly.detected', category: 'SECURITY', level: 'WARNING' });
    expect((await store.query({}, { limit: 10 })).map((r) => r.action)).toEqual([
      'anomaly.detected',
    ]);
  });

  it('refuses a transactional record on a store without transactions', async () => {
    const { audit } = await service();
    const manager: AuditEntityManager = { query: async () => [] };
    const error = await audit
      .record({ action: 'a', category: 'DATA_CHANGE' }, { manager })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'KEEL_AUDIT_UNSUPPORTED', status: 500 });
    expect((error as Error).message).toContain('the file store has no transactions');
  });

  it('writes a transactional record through the caller’s manager as a pending event', async () => {
    const inserted: [AuditEntityManager, PreparedAuditEvent[]][] = [];
    const pending: PreparedAuditEvent[] = [];
    // The file store with a pending table, as the PostgreSQL store has one.
    await store.init();
    const transactional = Object.assign(Object.create(store) as AuditStore, {
      async insertPending(manager: AuditEntityManager, events: readonly PreparedAuditEvent[]) {
        inserted.push([manager, [...events]]);
        pending.push(...events);
      },
      async drainPending(limit: number) {
        return store.append(pending.splice(0, limit));
      },
    });
    const { audit } = await service({}, transactional);
    const manager: AuditEntityManager = { query: async () => [] };
    await audit.record({ action: 'order.pay', category: 'DATA_CHANGE' }, { manager });
    expect(inserted).toHaveLength(1);
    expect(inserted[0]![0]).toBe(manager);
    expect(inserted[0]![1].map((e) => e.action)).toEqual(['order.pay']);
    // The writer chains it once drained; shutdown drains what is left.
    await writer!.beforeApplicationShutdown();
    writer = undefined;
    expect(pending).toEqual([]);
    const [stored] = await store.query({}, { limit: 10 });
    expect(stored).toMatchObject({ action: 'order.pay', seq: 1 });
  });

  it('enqueue buffers without a promise in async mode', async () => {
    const { audit } = await service({ writer: { mode: 'async', batchSize: 1 } });
    expect(audit.enqueue({ action: 'a', category: 'DATA_ACCESS' })).toBeUndefined();
    await writer!.beforeApplicationShutdown(); // drains, then closes the store
    writer = undefined;
    const reopened = new FileAuditStore({ directory });
    await reopened.init();
    try {
      expect((await reopened.query({}, { limit: 10 })).map((r) => r.action)).toEqual(['a']);
    } finally {
      await reopened.close();
    }
  });
});
