import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { AUDIT_SETTINGS } from './audit.constants.js';
import type { AuditSettings } from './interfaces/audit-options.interface.js';
import { AuditStore } from './stores/audit.store.js';
import { AuditWriter, DOWN_AFTER_RETRY_MAX } from './writer/audit-writer.js';

/**
 * Readiness of the audit trail: `up`; `degraded` while batches are being retried or events were
 * dropped in the last minute (onFull 'drop'); `down` once the store has failed for longer than
 * 3 × retryMaxMs. Details: store kind, queue depth, lag of the oldest buffered event, dropped
 * count — never the store's URL or its error text (which may carry one).
 * @publicApi
 */
@KeelHealthIndicator({ key: 'audit' })
export class AuditHealthIndicator implements KeelHealthCheck {
  constructor(
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(AuditWriter) private readonly writer: AuditWriter,
  ) {}

  async check(): Promise<KeelHealthReport> {
    const status = this.writer.status();
    const details = {
      store: this.store.kind,
      queueDepth: status.depth,
      lagMs: status.lagMs,
      dropped: status.dropped,
      ...(status.failingForMs === undefined ? {} : { failingForMs: status.failingForMs }),
    };
    const downAfter = DOWN_AFTER_RETRY_MAX * this.settings.writer.retryMaxMs;
    if (status.failingForMs !== undefined && status.failingForMs > downAfter) {
      return { status: 'down', details };
    }
    if (status.failingForMs !== undefined || status.droppedRecently) {
      return { status: 'degraded', details };
    }
    return { status: 'up', details };
  }
}
