import { Inject, Injectable } from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter } from 'prom-client';
import type { AuditEventInput, PreparedAuditEvent } from './audit-event.js';
import { AUDIT_SETTINGS } from './audit.constants.js';
import { AuditError } from './audit.errors.js';
import { transactionsUnsupported } from './audit.messages.js';
import { AUDIT_METRICS } from './audit.metrics.js';
import { EventPreparer } from './capture/event-preparer.js';
import type { AuditSettings } from './interfaces/audit-options.interface.js';
import { AuditStore, type AuditEntityManager } from './stores/audit.store.js';
import { AuditCommitHub } from './writer/audit-commit-hub.js';
import { AuditWriter } from './writer/audit-writer.js';

/** Options of {@link AuditService.record}. @publicApi */
export interface AuditRecordOptions {
  /**
   * A TypeORM `EntityManager` (or `QueryRunner`) of an open transaction: the event is written
   * in that transaction, so it exists exactly when the transaction commits. PostgreSQL store
   * only.
   */
  readonly manager?: AuditEntityManager;
}

/**
 * Records audit events. Fields left out are taken from the request context (actor, tenant, ip,
 * user agent, correlation id); the payload is redacted and capped; the event gets a time-ordered
 * id and a chain. When `record()` resolves depends on `writer.mode` (see
 * {@link AuditWriteMode}).
 *
 * @example
 * ```ts
 * await this.audit.record({
 *   action: 'order.refund',
 *   category: 'DATA_CHANGE',
 *   resource: { type: 'order', id: order.id },
 *   data: { amount },
 * });
 * ```
 * @publicApi
 */
@Injectable()
export class AuditService {
  private readonly preparer: EventPreparer;
  private readonly recorded: Counter<string>;
  private readonly recordedChildren = new Map<string, Map<string, Counter.Internal>>();

  constructor(
    @Inject(AUDIT_SETTINGS) settings: AuditSettings,
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(AuditWriter) private readonly writer: AuditWriter,
    @Inject(AuditCommitHub) hub: AuditCommitHub,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.preparer = new EventPreparer(settings);
    this.recorded = metrics.counter({
      ...AUDIT_METRICS.recorded,
      labelNames: [...AUDIT_METRICS.recorded.labelNames],
    });
    hub.setRecorder((event) => this.record(event));
  }

  /** Every category `record()` accepts: the built-in ones and `forRoot({ categories })`. */
  get categories(): ReadonlySet<string> {
    return this.preparer.categories;
  }

  /**
   * Records one event.
   * - Without `manager`: buffered for the writer. In `async` mode resolves once buffered (with
   *   `onFull: 'block'`, waits for room; with `'drop'`, a full buffer drops the event, counted);
   *   in `sync` mode resolves once its batch has committed.
   * - With `manager`: written in the caller's transaction (PostgreSQL store); resolves once
   *   written there, and the event is chained after the transaction commits.
   * @throws AuditError KEEL_AUDIT_INVALID_EVENT (malformed event, the field named),
   *   KEEL_AUDIT_UNSUPPORTED (`manager` with the file store), KEEL_AUDIT_SHUT_DOWN (after
   *   shutdown began), KEEL_AUDIT_UNAVAILABLE (sync mode: not committed in 3 × retryMaxMs).
   */
  async record(event: AuditEventInput, options?: AuditRecordOptions): Promise<void> {
    if (options?.manager !== undefined) return this.recordInTransaction(event, options.manager);
    await this.enqueue(event);
  }

  /**
   * The hot path behind `record()` and `@Audited`: prepares and buffers, returning `undefined`
   * when the event is buffered at once (no promise allocated).
   * @internal
   */
  enqueue(event: AuditEventInput): Promise<void> | undefined {
    const prepared = this.preparer.prepare(event);
    const pending = this.writer.enqueue(prepared);
    this.count(prepared);
    return pending;
  }

  private async recordInTransaction(
    event: AuditEventInput,
    manager: AuditEntityManager,
  ): Promise<void> {
    if (this.store.insertPending === undefined) {
      throw new AuditError(
        'KEEL_AUDIT_UNSUPPORTED',
        transactionsUnsupported({ kind: this.store.kind }),
      );
    }
    const prepared = this.preparer.prepare(event);
    await this.store.insertPending(manager, [prepared]);
    this.count(prepared);
    this.writer.notePending();
  }

  private count(event: PreparedAuditEvent): void {
    let byOutcome = this.recordedChildren.get(event.category);
    if (byOutcome === undefined) this.recordedChildren.set(event.category, (byOutcome = new Map()));
    let child = byOutcome.get(event.outcome);
    if (child === undefined) {
      child = this.recorded.labels({ category: event.category, outcome: event.outcome });
      byOutcome.set(event.outcome, child);
    }
    child.inc();
  }
}
