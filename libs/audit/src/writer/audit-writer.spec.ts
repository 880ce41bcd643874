import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { KeelMetrics, loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditRecord,
  PreparedAuditEvent,
} from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { AuditHealthIndicator } from '../audit.health.js';
import { resolveAuditSettings } from '../audit.settings.js';
import { linkBatch } from '../chain/chain-format.js';
import type { AuditSettings, AuditWriterOptions } from '../interfaces/audit-options.interface.js';
import type { AppendOptions, AuditPartition, AuditStore } from '../stores/audit.store.js';
import { AuditCommitHub } from './audit-commit-hub.js';
import { AuditWriter } from './audit-writer.js';
import { preparedEvent } from '../../test/events.js';

/**
 * An in-memory store whose appends fail on command: `failures` upcoming appends throw
 * (Infinity: every one). The writer is what these specs test.
 */
class ScriptedStore implements AuditStore {
  readonly kind = 'scripted';
  readonly records: AuditRecord[] = [];
  readonly appends: { ids: string[]; options: AppendOptions | undefined }[] = [];
  readonly log: string[] = [];
  failures = 0;

  async init(): Promise<void> {
    this.log.push('init');
  }

  async append(
    events: readonly PreparedAuditEvent[],
    options?: AppendOptions,
  ): Promise<AuditRecord[]> {
    this.appends.push({ ids: events.map((e) => e.id), options });
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('store down');
    }
    const stored = new Set(this.records.map((r) => r.id));
    const fresh = options?.retry === true ? events.filter((e) => !stored.has(e.id)) : events;
    const linked = linkBatch(fresh, (chain) =>
      this.records.filter((r) => r.chain === chain).at(-1),
    );
    this.records.push(...linked);
    return linked;
  }

  async query(): Promise<AuditRecord[]> {
    return [];
  }
  async readChain(): Promise<AuditRecord[]> {
    return [];
  }
  async heads(): Promise<AuditChainHead[]> {
    return [];
  }
  async appendCheckpoint(_checkpoint: AuditCheckpoint): Promise<void> {}
  async checkpoints(): Promise<AuditCheckpoint[]> {
    return [];
  }
  async partitions(): Promise<AuditPartition[]> {
    return [];
  }
  async countInPartition(): Promise<number> {
    return 0;
  }
  async lastInPartition(): Promise<AuditChainHead[]> {
    return [];
  }
  async dropPartition(): Promise<void> {}
  async close(): Promise<void> {
    this.log.push('close');
  }
}

/** A store with a pending (transactional) table, as the PostgreSQL store has. */
class PendingStore extends ScriptedStore {
  readonly pending: PreparedAuditEvent[] = [];
  readonly drains: number[] = [];
  drainFailures = 0;

  async drainPending(limit: number): Promise<AuditRecord[]> {
    this.drains.push(limit);
    if (this.drainFailures > 0) {
      this.drainFailures -= 1;
      throw new Error('pending table locked');
    }
    return this.append(this.pending.splice(0, limit));
  }
}

const WRITER: AuditWriterOptions = {
  batchSize: 3,
  bufferSize: 100,
  flushIntervalMs: 50,
  retryBaseMs: 100,
  retryMaxMs: 250,
  drainTimeoutMs: 1_000,
};

function settings(writer: AuditWriterOptions = {}): AuditSettings {
  const core = resolveCoreSettings({
    serviceName: 'orders',
    redis: false,
    config: loadKeelConfig({ env: {} }),
  });
  const resolved = resolveAuditSettings({}, core);
  // Built directly (not through the schema), so a spec may pick any combination.
  return { ...resolved, writer: { ...resolved.writer, ...WRITER, ...writer } };
}

/**
 * Runs every pending promise job (fake timers leave them alone) and every callback due now —
 * a full batch is flushed on the next turn of the event loop (setImmediate), never inside the
 * record() that filled it.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await Promise.resolve();
    if (i % 5 === 0) jest.advanceTimersByTime(0);
  }
}

async function metric(metrics: KeelMetrics, name: string): Promise<number> {
  const found = metrics.registry.getSingleMetric(name);
  const values = (await found!.get()).values;
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('AuditWriter', () => {
  let logs: { level: string; message: string }[];

  beforeEach(() => {
    jest.useFakeTimers();
    logs = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => {
        logs.push({ level, message: String(message) });
      });
    }
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  function setup(writer: AuditWriterOptions = {}, store: ScriptedStore = new ScriptedStore()) {
    const hub = new AuditCommitHub();
    const metrics = new KeelMetrics();
    const committed: AuditRecord[][] = [];
    hub.subscribe((records) => {
      committed.push([...records]);
    });
    return {
      store,
      hub,
      metrics,
      committed,
      writer: new AuditWriter(settings(writer), store, hub, metrics),
    };
  }

  it('buffers events in async mode and commits them as one batch after flushIntervalMs', async () => {
    const { store, writer, committed, metrics } = setup();
    await writer.onApplicationBootstrap();
    expect(store.log).toEqual(['init']);
    const events = [preparedEvent(), preparedEvent()];
    for (const e of events) expect(writer.enqueue(e)).toBeUndefined();
    expect(writer.status()).toMatchObject({ depth: 2, dropped: 0, stopped: false });
    await jest.advanceTimersByTimeAsync(30);
    expect(writer.status().lagMs).toBe(30);
    await jest.advanceTimersByTimeAsync(19);
    expect(store.appends).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.appends).toEqual([{ ids: events.map((e) => e.id), options: undefined }]);
    expect(committed.map((batch) => batch.map((r) => [r.id, r.seq]))).toEqual([
      [
        [events[0]!.id, 1],
        [events[1]!.id, 2],
      ],
    ]);
    expect(writer.status()).toMatchObject({ depth: 0, lagMs: 0, failingForMs: undefined });
    expect(await metric(metrics, 'keel_audit_events_written_total')).toBe(2);
  });

  it('never writes a full batch inside the enqueue that filled it (the next turn does)', async () => {
    const { store, writer } = setup();
    await writer.onApplicationBootstrap();
    for (let i = 0; i < 3; i++) writer.enqueue(preparedEvent());
    await Promise.resolve();
    expect(store.appends).toEqual([]);
    await settle();
    expect(store.appends.map((a) => a.ids.length)).toEqual([3]);
  });

  it('flushes at once when a batch is full, and the backlog behind it in batches of batchSize', async () => {
    const { store, writer } = setup();
    await writer.onApplicationBootstrap();
    for (let i = 0; i < 7; i++) writer.enqueue(preparedEvent());
    await settle();
    // No wait for the interval: the backlog goes out at once, one batch in flight at a time.
    expect(store.appends.map((a) => a.ids.length)).toEqual([3, 3, 1]);
    expect(store.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Fewer than a batch afterwards: they wait for the interval.
    writer.enqueue(preparedEvent());
    await settle();
    expect(store.appends).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(50);
    expect(store.appends).toHaveLength(4);
  });

  it('writes nothing before bootstrap, then what was buffered', async () => {
    const { store, writer } = setup();
    writer.enqueue(preparedEvent());
    await jest.advanceTimersByTimeAsync(1_000);
    expect(store.appends).toEqual([]);
    await writer.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(50);
    expect(store.records).toHaveLength(1);
  });

  it('retries a failing batch with exponential backoff capped at retryMaxMs, as a retry', async () => {
    const { store, writer, metrics } = setup();
    store.failures = 3;
    await writer.onApplicationBootstrap();
    const event = preparedEvent();
    writer.enqueue(event);
    await jest.advanceTimersByTimeAsync(50);
    expect(store.appends).toHaveLength(1);
    expect(writer.status()).toMatchObject({ depth: 1, failingForMs: 0, lastError: 'store down' });
    await jest.advanceTimersByTimeAsync(99);
    expect(store.appends).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.appends).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(200);
    expect(store.appends).toHaveLength(3);
    expect(writer.status().failingForMs).toBe(300);
    await jest.advanceTimersByTimeAsync(250); // 400 capped at 250
    expect(store.appends.map((a) => a.options)).toEqual([
      undefined,
      { retry: true },
      { retry: true },
      { retry: true },
    ]);
    expect(store.records.map((r) => r.id)).toEqual([event.id]);
    expect(writer.status()).toMatchObject({
      depth: 0,
      failingForMs: undefined,
      lastError: undefined,
    });
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'audit batch of 1 events failed (attempt 1): store down; retrying in 100 ms',
      'audit batch of 1 events failed (attempt 2): store down; retrying in 200 ms',
      'audit batch of 1 events failed (attempt 3): store down; retrying in 250 ms',
    ]);
    expect(await metric(metrics, 'keel_audit_batch_failures_total')).toBe(3);
  });

  it('sync mode: enqueue resolves once the batch has committed', async () => {
    const { store, writer } = setup({ mode: 'sync' });
    await writer.onApplicationBootstrap();
    let done = false;
    const pending = writer.enqueue(preparedEvent());
    expect(pending).toBeInstanceOf(Promise);
    void pending!.then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(50);
    expect(done).toBe(true);
    expect(store.records).toHaveLength(1);
  });

  it('sync mode: rejects with KEEL_AUDIT_UNAVAILABLE when not committed within 3 × retryMaxMs', async () => {
    const { store, writer } = setup({ mode: 'sync' });
    store.failures = Infinity;
    await writer.onApplicationBootstrap();
    const outcome = writer.enqueue(preparedEvent())!.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(749);
    await jest.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'KEEL_AUDIT_UNAVAILABLE', status: 503 });
    expect((error as Error).message).toBe(
      'audit event not committed within 750 ms (last store error: store down); it stays buffered and is retried',
    );
    // The event stays buffered, and is stored once the store is back.
    store.failures = 0;
    await jest.advanceTimersByTimeAsync(250);
    expect(store.records).toHaveLength(1);
  });

  it("onFull 'drop': drops events while full, counts them, logs once per burst", async () => {
    const { store, writer, metrics } = setup({ bufferSize: 2, batchSize: 2, onFull: 'drop' });
    writer.enqueue(preparedEvent());
    writer.enqueue(preparedEvent());
    expect(writer.enqueue(preparedEvent())).toBeUndefined();
    expect(writer.enqueue(preparedEvent())).toBeUndefined();
    expect(writer.status()).toMatchObject({ depth: 2, dropped: 2, droppedRecently: true });
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      "audit buffer full (2 events): dropping new events (writer.onFull 'drop'); counted in keel_audit_events_dropped_total",
    ]);
    expect(await metric(metrics, 'keel_audit_events_dropped_total')).toBe(2);
    await writer.onApplicationBootstrap(); // a full batch: flushed at once
    await settle();
    expect(store.records).toHaveLength(2);
    writer.enqueue(preparedEvent());
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'audit buffer has room again; 2 events were dropped',
    ]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(writer.status()).toMatchObject({ dropped: 2, droppedRecently: false });
  });

  it("onFull 'block': waits for room, then buffers in the order callers waited", async () => {
    const { store, writer } = setup({ bufferSize: 2, batchSize: 2 });
    const a = preparedEvent();
    const b = preparedEvent();
    const c = preparedEvent();
    const d = preparedEvent();
    expect(writer.enqueue(a)).toBeUndefined();
    expect(writer.enqueue(b)).toBeUndefined();
    const waited: string[] = [];
    const pc = writer.enqueue(c)!.then(() => waited.push('c'));
    const pd = writer.enqueue(d)!.then(() => waited.push('d'));
    await settle();
    expect(waited).toEqual([]);
    await writer.onApplicationBootstrap();
    await settle();
    await Promise.all([pc, pd]);
    expect(waited).toEqual(['c', 'd']);
    await settle();
    expect(store.records.map((r) => r.id)).toEqual([a.id, b.id, c.id, d.id]);
  });

  it('logs a failing commit listener and goes on (the events are stored)', async () => {
    const { store, writer, hub, committed } = setup();
    hub.subscribe(() => {
      throw new Error('listener boom');
    });
    hub.subscribe(async () => {
      throw new Error('async boom');
    });
    await writer.onApplicationBootstrap();
    writer.enqueue(preparedEvent());
    await jest.advanceTimersByTimeAsync(50);
    expect(store.records).toHaveLength(1);
    expect(committed).toHaveLength(1);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'an audit commit listener failed (the events are stored): listener boom',
      'an audit commit listener failed (the events are stored): async boom',
    ]);
    expect(store.appends).toHaveLength(1);
  });

  it('stops listening once unsubscribed', async () => {
    const { writer, hub } = setup();
    const seen: number[] = [];
    const unsubscribe = hub.subscribe((records) => {
      seen.push(records.length);
    });
    await writer.onApplicationBootstrap();
    writer.enqueue(preparedEvent());
    await jest.advanceTimersByTimeAsync(50);
    unsubscribe();
    unsubscribe(); // twice is harmless
    writer.enqueue(preparedEvent());
    await jest.advanceTimersByTimeAsync(50);
    expect(seen).toEqual([1]);
  });

  it('shutdown drains the buffer, runs the beforeClose work, closes the store, then refuses events', async () => {
    const { store, writer, hub } = setup();
    hub.beforeClose(async () => {
      store.log.push('final checkpoint');
    });
    await writer.onApplicationBootstrap();
    writer.enqueue(preparedEvent());
    writer.enqueue(preparedEvent());
    // Called twice (two shutdown paths): one stop.
    await Promise.all([writer.beforeApplicationShutdown(), writer.beforeApplicationShutdown()]);
    expect(store.records).toHaveLength(2);
    expect(store.log).toEqual(['init', 'final checkpoint', 'close']);
    expect(writer.status().stopped).toBe(true);
    let error: unknown;
    try {
      writer.enqueue(preparedEvent());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'KEEL_AUDIT_SHUT_DOWN' });
  });

  it('shutdown still closes the store when the beforeClose work fails', async () => {
    const { store, writer, hub } = setup();
    hub.beforeClose(async () => {
      throw new Error('checkpoint failed');
    });
    await writer.onApplicationBootstrap();
    await writer.beforeApplicationShutdown();
    expect(store.log).toEqual(['init', 'close']);
    expect(logs).toContainEqual({ level: 'error', message: 'Error: checkpoint failed' });
  });

  it('shutdown gives up after drainTimeoutMs while the store fails, rejecting sync waiters', async () => {
    const { store, writer } = setup({ mode: 'sync', retryMaxMs: 10_000 });
    store.failures = Infinity;
    await writer.onApplicationBootstrap();
    const outcome = writer.enqueue(preparedEvent())!.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(50);
    const stopped = writer.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(1_000);
    await stopped;
    const error = await outcome;
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'KEEL_AUDIT_SHUT_DOWN' });
    expect(logs).toContainEqual({
      level: 'error',
      message:
        'audit writer stopped with 1 events not stored: the store did not take them within drainTimeoutMs (1000 ms)',
    });
    expect(store.log).toEqual(['init', 'close']);
    const attempts = store.appends.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(store.appends).toHaveLength(attempts); // abandoned: no more retries
    expect(writer.status().depth).toBe(0);
  });

  it('shutdown before bootstrap abandons what was buffered at once', async () => {
    const { store, writer } = setup();
    writer.enqueue(preparedEvent());
    await writer.beforeApplicationShutdown();
    expect(store.appends).toEqual([]);
    expect(logs.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^audit writer stopped with 1 events not stored/),
    );
    expect(store.log).toEqual(['close']);
  });

  it('shutdown wakes callers blocked on a full buffer and stores their events', async () => {
    const { store, writer } = setup({ bufferSize: 1, batchSize: 1 });
    await writer.onApplicationBootstrap();
    store.failures = 1;
    writer.enqueue(preparedEvent());
    await settle(); // in flight, failing
    const blocked = writer.enqueue(preparedEvent())!;
    const stopped = writer.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(100);
    await blocked;
    await stopped;
    expect(store.records).toHaveLength(2);
  });

  describe('pending (transactional) events', () => {
    it('drains them when told one was inserted, in batches of batchSize', async () => {
      const store = new PendingStore();
      const { writer, committed } = setup({}, store);
      await writer.onApplicationBootstrap();
      store.pending.push(preparedEvent(), preparedEvent(), preparedEvent(), preparedEvent());
      writer.notePending();
      await settle();
      expect(store.drains).toEqual([3, 3]);
      expect(store.records).toHaveLength(4);
      expect(committed.map((batch) => batch.length)).toEqual([3, 1]);
      await writer.beforeApplicationShutdown();
    });

    it('drains them every second while idle, and retries a failed drain', async () => {
      const store = new PendingStore();
      const { writer } = setup({}, store);
      await writer.onApplicationBootstrap();
      store.pending.push(preparedEvent());
      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.records).toHaveLength(1);
      store.drainFailures = 1;
      store.pending.push(preparedEvent());
      await jest.advanceTimersByTimeAsync(1_000);
      expect(logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
        'draining pending transactional audit events failed (retried next flush): pending table locked',
      ]);
      expect(store.records).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.records).toHaveLength(2);
      await writer.beforeApplicationShutdown();
    });

    it('drains them once more at shutdown', async () => {
      const store = new PendingStore();
      const { writer } = setup({}, store);
      await writer.onApplicationBootstrap();
      await settle();
      store.pending.push(preparedEvent());
      await writer.beforeApplicationShutdown();
      expect(store.records).toHaveLength(1);
      expect(store.log).toEqual(['init', 'close']);
    });
  });

  describe('AuditHealthIndicator (reads the writer)', () => {
    it('is up while the store takes batches', async () => {
      const { store, writer } = setup();
      const health = new AuditHealthIndicator(settings(), store, writer);
      await writer.onApplicationBootstrap();
      expect(await health.check()).toEqual({
        status: 'up',
        details: { store: 'scripted', queueDepth: 0, lagMs: 0, dropped: 0 },
      });
    });

    it('is degraded while batches are retried, down after 3 × retryMaxMs, up again after', async () => {
      const { store, writer } = setup();
      const health = new AuditHealthIndicator(settings(), store, writer);
      store.failures = Infinity;
      await writer.onApplicationBootstrap();
      writer.enqueue(preparedEvent());
      await jest.advanceTimersByTimeAsync(50);
      expect(await health.check()).toEqual({
        status: 'degraded',
        details: { store: 'scripted', queueDepth: 1, lagMs: 50, dropped: 0, failingForMs: 0 },
      });
      await jest.advanceTimersByTimeAsync(750);
      expect((await health.check()).status).toBe('degraded'); // exactly 3 × 250 ms
      await jest.advanceTimersByTimeAsync(250);
      const down = await health.check();
      expect(down.status).toBe('down');
      expect(down.details).toMatchObject({ failingForMs: 1_000 });
      // Never the store's error text (it may carry a URL).
      expect(JSON.stringify(down)).not.toContain('store down');
      store.failures = 0;
      await jest.advanceTimersByTimeAsync(250);
      expect((await health.check()).status).toBe('up');
    });

    it('is degraded for a minute after an event was dropped', async () => {
      const { store, writer } = setup({ bufferSize: 1, batchSize: 1, onFull: 'drop' });
      const health = new AuditHealthIndicator(settings(), store, writer);
      writer.enqueue(preparedEvent());
      writer.enqueue(preparedEvent());
      expect(await health.check()).toMatchObject({ status: 'degraded', details: { dropped: 1 } });
      await jest.advanceTimersByTimeAsync(60_000);
      expect(await health.check()).toMatchObject({ status: 'up', details: { dropped: 1 } });
    });
  });
});
