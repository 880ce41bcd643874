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
  publishFailures: {
    name: 'keel_messaging_publish_failures_total',
    help: 'publish() calls that failed to reach the broker, by topic.',
    labelNames: ['topic'],
  },
} as const satisfies KeelMetricDefinitions;
