import type { KeelMetricDefinitions } from '@keel/core/internal';

/** Every metric of `@keel/messaging`: name, help and labels, declared once. @internal */
export const MESSAGING_METRICS = {
  published: {
    name: 'keel_messaging_published_total',
    help: 'Events the broker acknowledged (or the embedded transport took), by topic.',
    labelNames: ['topic'],
  },
  relayed: {
    name: 'keel_messaging_outbox_relayed_total',
    help: 'Outbox events the relay sent and marked sent, by topic.',
    labelNames: ['topic'],
  },
  outboxDead: {
    name: 'keel_messaging_outbox_dead_total',
    help: 'Outbox rows Kafka refused for good (too large, invalid), set aside as dead rows, by topic.',
    labelNames: ['topic'],
  },
  publishFailures: {
    name: 'keel_messaging_publish_failures_total',
    help: 'publish() calls that failed to reach the broker, by topic.',
    labelNames: ['topic'],
  },
  consumed: {
    name: 'keel_messaging_consumed_total',
    help: 'Records the messaging server finished with, by topic and outcome (processed, dead-lettered).',
    labelNames: ['topic', 'outcome'],
  },
  retried: {
    name: 'keel_messaging_retries_total',
    help: 'Handler attempts that failed and were tried again in process, by topic.',
    labelNames: ['topic'],
  },
  deadLettered: {
    name: 'keel_messaging_dead_lettered_total',
    help: 'Records written to a dead-letter topic, by source topic and exception code.',
    labelNames: ['topic', 'code'],
  },
  parked: {
    name: 'keel_messaging_parked_total',
    help: 'Records sent to the retry topic, by topic and reason (failed: its handler failed; behind: its key was parked).',
    labelNames: ['topic', 'reason'],
  },
  outboxBacklog: {
    name: 'keel_messaging_outbox_backlog',
    help: 'Outbox events not yet sent (read from the outbox table at scrape time).',
  },
  outboxLag: {
    name: 'keel_messaging_outbox_lag_seconds',
    help: 'Age of the oldest unsent outbox event, in seconds (0 when none).',
  },
  parkedKeys: {
    name: 'keel_messaging_parked_keys',
    help: 'Keys this process parked on a retry topic and has not seen released.',
  },
  duplicates: {
    name: 'keel_messaging_duplicates_skipped_total',
    help: '@Idempotent calls skipped because their key had already completed, by method.',
    labelNames: ['method'],
  },
  duplicatesInProgress: {
    name: 'keel_messaging_duplicates_in_progress_total',
    help: '@Idempotent calls refused because a call with their key was still running, by method.',
    labelNames: ['method'],
  },
  handlerDuration: {
    name: 'keel_messaging_handler_duration_seconds',
    help: 'Time one handler attempt took, by topic and outcome (success, failure).',
    labelNames: ['topic', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
} as const satisfies KeelMetricDefinitions;
