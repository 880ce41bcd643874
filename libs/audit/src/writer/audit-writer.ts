import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter, Gauge } from 'prom-client';
import type { AuditRecord, PreparedAuditEvent } from '../audit-event.js';
import { AUDIT_SETTINGS } from '../audit.constants.js';
import { AuditError } from '../audit.errors.js';
import {
  batchFailed,
  drainIncomplete,
  eventsDropped,
  eventsDropping,
  listenerFailed,
  pendingDrainFailed,
  syncTimeout,
  writerShutDown,
} from '../audit.messages.js';
import { AUDIT_METRICS } from '../audit.metrics.js';
import type { AuditSettings } from '../interfaces/audit-options.interface.js';
import { AuditStore } from '../stores/audit.store.js';
import { AuditBuffer, type BufferedEvent } from './audit-buffer.js';
import { AuditCommitHub } from './audit-commit-hub.js';
import { AuditSpool } from './audit-spool.js';

/** How many retryMaxMs a store may fail for before health says `down`. @internal */
export const DOWN_AFTER_RETRY_MAX = 3;
/** How often pending (transactional) events are drained when this process wrote none. */
const PENDING_IDLE_MS = 1_000;
/** How long health stays `degraded` after the last dropped event. */
const DROP_DEGRADED_MS = 60_000;

/** What the health check reads. @internal */
export interface AuditWriterStatus {
  /** Events buffered or in flight, not yet committed. */
  readonly depth: number;
  /** Age of the oldest uncommitted event, in milliseconds (0 when none). */
  readonly lagMs: number;
  /** Events dropped since start (onFull 'drop'). */
  readonly dropped: number;
  readonly droppedRecently: boolean;
  /** How long the store has been failing, in milliseconds; `undefined` while it is not. */
  readonly failingForMs: number | undefined;
  readonly lastError: string | undefined;
  readonly stopped: boolean;
}

/**
 * The write side: a bounded buffer drained in batches by one flush loop (one batch in flight),
 * retried with exponential backoff while the store fails — an event is never dropped while the
 * buffer has room. Starts at bootstrap, drains at shutdown (bounded by drainTimeoutMs), then
 * closes the store.
 * @internal
 */
@Injectable()
export class AuditWriter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelAudit');
  private readonly buffer = new AuditBuffer();
  private readonly roomWaiters: (() => void)[] = [];
  private readonly written: Counter<string>;
  private readonly droppedCounter: Counter<string>;
  private readonly failures: Counter<string>;
  private readonly depthGauge: Gauge<string>;
  private inFlight: BufferedEvent[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private abandoned = false;
  private shutdown: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private dropped = 0;
  private burstDropped = 0;
  private lastDropAt = -Infinity;
  private pendingHint = false;
  private lastPendingDrain = 0;
  private readonly spool: AuditSpool | undefined;
  /** Opens the spool and buffers what it holds, before any new event is spooled. */
  private spoolReady: Promise<void> | undefined;
  /** Events on their way to the spool file, buffered once synced. */
  private spooling = 0;

  constructor(
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(AuditCommitHub) private readonly hub: AuditCommitHub,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.written = metrics.counter({ ...AUDIT_METRICS.written, labelNames: [] });
    this.droppedCounter = metrics.counter({ ...AUDIT_METRICS.dropped, labelNames: [] });
    this.failures = metrics.counter({ ...AUDIT_METRICS.batchFailures, labelNames: [] });
    this.depthGauge = metrics.gauge({ ...AUDIT_METRICS.queueDepth, labelNames: [] });
    const spoolDirectory = settings.writer.spoolDirectory;
    this.spool = spoolDirectory === undefined ? undefined : new AuditSpool(spoolDirectory);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.store.init();
    if (this.spool !== undefined) await this.openSpool(this.spool);
    this.started = true;
    if (this.store.drainPending !== undefined) {
      this.idleTimer = setInterval(() => this.startFlush(), PENDING_IDLE_MS);
      this.idleTimer.unref();
    }
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown ??= this.stop();
    return this.shutdown;
  }

  /**
   * Buffers an event. Returns `undefined` when it is buffered (or dropped) at once in async
   * mode — no promise allocated on the hot path; else a promise that settles once it is
   * buffered (`onFull: 'block'`) or, in sync mode, committed.
   * @throws AuditError KEEL_AUDIT_SHUT_DOWN once shutdown has begun.
   */
  enqueue(event: PreparedAuditEvent): Promise<void> | undefined {
    if (this.stopping) throw new AuditError('KEEL_AUDIT_SHUT_DOWN', writerShutDown());
    const sync = this.settings.writer.mode === 'sync';
    const full = this.depth() >= this.settings.writer.bufferSize || this.roomWaiters.length > 0;
    const push = (): Promise<void> | undefined =>
      sync
        ? this.pushSync(event)
        : this.spool
          ? this.pushSpooled(this.spool, event)
          : this.pushAsync(event);
    if (!full) {
      this.endDropBurst();
      return push();
    }
    if (this.settings.writer.onFull === 'drop') {
      this.drop();
      return undefined;
    }
    return this.waitForRoom().then(push);
  }

  /** A transactional event was inserted as pending: drain soon. */
  notePending(): void {
    this.pendingHint = true;
    this.kick(true);
  }

  status(): AuditWriterStatus {
    const oldest = this.inFlight[0] ?? this.buffer.peek();
    const now = performance.now();
    return {
      depth: this.depth(),
      lagMs: oldest === undefined ? 0 : Math.round(now - oldest.bufferedAt),
      dropped: this.dropped,
      droppedRecently: now - this.lastDropAt < DROP_DEGRADED_MS,
      failingForMs:
        this.failingSince === undefined ? undefined : Math.round(now - this.failingSince),
      lastError: this.lastError,
      stopped: this.stopping,
    };
  }

  private depth(): number {
    return this.buffer.length + this.inFlight.length + this.spooling;
  }

  /** On disk first, then buffered: the buffer's order is the spool's (see AuditSpool). */
  private async pushSpooled(spool: AuditSpool, event: PreparedAuditEvent): Promise<void> {
    this.spooling++;
    try {
      await this.openSpool(spool);
      await spool.append(event);
      this.pushAsync(event);
    } finally {
      this.spooling--;
    }
  }

  private openSpool(spool: AuditSpool): Promise<void> {
    this.spoolReady ??= spool.open().then((replay) => {
      const bufferedAt = performance.now();
      for (const event of replay) {
        this.buffer.push({ event, bufferedAt, settle: undefined, replayed: true });
      }
    });
    return this.spoolReady;
  }

  private pushAsync(event: PreparedAuditEvent): undefined {
    this.buffer.push({ event, bufferedAt: performance.now(), settle: undefined });
    this.kick();
    return undefined;
  }

  private pushSync(event: PreparedAuditEvent): Promise<void> {
    const waitMs = DOWN_AFTER_RETRY_MAX * this.settings.writer.retryMaxMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const lastError = this.lastError ?? 'none';
        reject(
          new AuditError('KEEL_AUDIT_UNAVAILABLE', syncTimeout({ waitedMs: waitMs, lastError })),
        );
      }, waitMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.buffer.push({ event, bufferedAt: performance.now(), settle });
      this.kick();
    });
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private wakeWaiters(): void {
    const room = this.settings.writer.bufferSize - this.depth();
    const wake = this.stopping ? this.roomWaiters.length : Math.max(0, room);
    // Woken waiters push synchronously in their continuation, in the order they waited.
    for (const resolve of this.roomWaiters.splice(0, wake)) resolve();
  }

  private drop(): void {
    this.dropped++;
    this.burstDropped++;
    this.lastDropAt = performance.now();
    this.droppedCounter.inc();
    if (this.burstDropped === 1) {
      this.logger.error(eventsDropping({ bufferSize: this.settings.writer.bufferSize }));
    }
  }

  private endDropBurst(): void {
    if (this.burstDropped === 0) return;
    this.logger.warn(eventsDropped({ count: this.burstDropped }));
    this.burstDropped = 0;
  }

  /**
   * Flushes soon when a batch is full (or `now`), else within flushIntervalMs. "Soon" is the
   * next turn of the event loop, never inside the `record()` that filled the batch: a store may
   * link the batch synchronously, and that must not land on one unlucky request.
   */
  private kick(now = false): void {
    if (!this.started || this.flushing !== undefined) return;
    if (now || this.buffer.length >= this.settings.writer.batchSize) {
      if (this.immediate === undefined) {
        this.immediate = setImmediate(() => {
          this.immediate = undefined;
          this.startFlush();
        });
      }
    } else if (this.buffer.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => this.startFlush(), this.settings.writer.flushIntervalMs);
    }
  }

  private startFlush(): void {
    if (!this.started || this.flushing !== undefined || this.abandoned) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      this.kick();
    });
  }

  /** Commits batches while events are buffered (backlog goes out at once), then pending ones. */
  private async flushLoop(): Promise<void> {
    while (this.buffer.length > 0 && !this.abandoned) {
      this.inFlight = this.buffer.take(this.settings.writer.batchSize);
      this.depthGauge.set(this.depth());
      const committed = await this.commit(this.inFlight);
      if (!committed) return;
      await this.spool
        ?.committed(this.inFlight.length)
        .catch((error: unknown) => this.logger.error(errorText(error)));
      this.inFlight = [];
      this.depthGauge.set(this.depth());
      this.wakeWaiters();
    }
    await this.drainPendingIfDue();
  }

  /** Appends one batch, retrying with backoff until it commits; false once abandoned. */
  private async commit(batch: readonly BufferedEvent[]): Promise<boolean> {
    const events = batch.map((item) => item.event);
    for (let attempt = 0; ; attempt++) {
      try {
        // A replayed event may have been stored before the crash: the store skips stored ids.
        const retry = attempt > 0 || batch.some((item) => item.replayed === true);
        const records = await this.store.append(events, retry ? { retry: true } : undefined);
        this.failingSince = undefined;
        this.lastError = undefined;
        for (const item of batch) item.settle?.();
        this.published(records);
        return true;
      } catch (error) {
        if (this.abandoned) return false;
        this.failures.inc();
        this.failingSince ??= performance.now();
        this.lastError = errorText(error);
        const { retryBaseMs, retryMaxMs } = this.settings.writer;
        const delayMs = Math.min(retryBaseMs * 2 ** Math.min(attempt, 30), retryMaxMs);
        const message = {
          size: batch.length,
          attempt: attempt + 1,
          delayMs,
          error: this.lastError,
        };
        this.logger.warn(batchFailed(message));
        await this.sleep(delayMs);
        if (this.abandoned) return false;
      }
    }
  }

  private async drainPendingIfDue(): Promise<void> {
    const drain = this.store.drainPending?.bind(this.store);
    if (drain === undefined) return;
    const now = performance.now();
    if (!this.pendingHint && now - this.lastPendingDrain < PENDING_IDLE_MS && !this.stopping)
      return;
    this.pendingHint = false;
    this.lastPendingDrain = now;
    const limit = this.settings.writer.batchSize;
    try {
      for (;;) {
        const records = await drain(limit);
        this.published(records);
        if (records.length < limit || this.abandoned) return;
      }
    } catch (error) {
      this.pendingHint = true;
      this.logger.warn(pendingDrainFailed({ error: errorText(error) }));
    }
  }

  /** Metrics, then the commit listeners; a listener's failure is logged, never propagated. */
  private published(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    this.written.inc(records.length);
    for (const listener of this.hub.current()) {
      try {
        const result = listener(records);
        if (result instanceof Promise) {
          result.catch((error: unknown) =>
            this.logger.error(listenerFailed({ error: errorText(error) })),
          );
        }
      } catch (error) {
        this.logger.error(listenerFailed({ error: errorText(error) }));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    // One flush loop, so at most one sleep: shutdown wakes it to give up early.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.idleTimer);
    this.wakeWaiters();
    const { drainTimeoutMs } = this.settings.writer;
    const drained = await this.drainWithin(drainTimeoutMs);
    if (!drained) {
      this.abandoned = true;
      this.wakeSleep?.();
      const left = [...this.inFlight, ...this.buffer.take(Number.MAX_SAFE_INTEGER)];
      this.logger.error(drainIncomplete({ left: left.length, timeoutMs: drainTimeoutMs }));
      const error = new AuditError('KEEL_AUDIT_SHUT_DOWN', writerShutDown());
      for (const item of left) item.settle?.(error);
      this.inFlight = [];
    }
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.depthGauge.set(this.depth());
    await this.hub.runBeforeClose().catch((error: unknown) => this.logger.error(String(error)));
    // Segments are deleted only if every event was committed; else the next start replays them.
    if (this.spoolReady !== undefined) {
      await this.spool?.close().catch((error: unknown) => this.logger.error(errorText(error)));
    }
    await this.store.close();
  }

  /** Flushes until nothing is buffered; false when `ms` passed first. */
  private async drainWithin(ms: number): Promise<boolean> {
    if (!this.started) return this.buffer.length === 0;
    const deadline = performance.now() + ms;
    let finalPass = false;
    for (;;) {
      // Spooled events reach the buffer once on disk: let them, so this drain takes them too.
      if (this.spooling > 0) {
        if (!(await raceTimeout(this.spool?.flushed(), deadline - performance.now()))) return false;
        await Promise.resolve();
        continue;
      }
      const idle =
        this.flushing === undefined &&
        this.buffer.length === 0 &&
        this.inFlight.length === 0 &&
        this.roomWaiters.length === 0;
      // After the buffer is empty, one more pass drains pending (transactional) events.
      if (idle && finalPass) return true;
      if (idle) finalPass = true;
      if (performance.now() >= deadline) return false;
      this.startFlush();
      if (!(await raceTimeout(this.flushing, deadline - performance.now()))) return false;
      // Let woken room waiters push their events before the next check.
      await Promise.resolve();
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function raceTimeout(work: Promise<void> | undefined, ms: number): Promise<boolean> {
  if (work === undefined) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
