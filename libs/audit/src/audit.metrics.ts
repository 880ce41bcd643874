import type { KeelMetricDefinitions } from '@keel/core/internal';

/** Every metric of `@keel/audit`: name, help and labels, declared once. @internal */
export const AUDIT_METRICS = {
  recorded: {
    name: 'keel_audit_events_recorded_total',
    help: 'Audit events accepted by record() or @Audited, by category and outcome.',
    labelNames: ['category', 'outcome'],
  },
  written: {
    name: 'keel_audit_events_written_total',
    help: 'Audit events committed to the store.',
    labelNames: [],
  },
  dropped: {
    name: 'keel_audit_events_dropped_total',
    help: "Audit events dropped because the buffer was full (writer.onFull 'drop').",
    labelNames: [],
  },
  queueDepth: {
    name: 'keel_audit_queue_depth',
    help: 'Audit events in the in-memory buffer, not yet committed.',
    labelNames: [],
  },
  batchFailures: {
    name: 'keel_audit_batch_failures_total',
    help: 'Batches that failed to commit and were retried.',
    labelNames: [],
  },
  anomalies: {
    name: 'keel_audit_anomalies_total',
    help: 'Anomalies detected on ingest, by rule.',
    labelNames: ['rule'],
  },
} as const satisfies KeelMetricDefinitions;
