import { Inject } from '@nestjs/common';
import {
  KeelHealthIndicator,
  KeelMetrics,
  type KeelHealthCheck,
  type KeelHealthReport,
} from '@keel/core';
import { MessagingServer } from './consumer/messaging-server.js';
import { MessageTransport } from './kafka/message-transport.js';
import { OUTBOX_STORE } from './messaging.constants.js';
import { MESSAGING_METRICS } from './messaging.metrics.js';
import { ParkingStore } from './stores/parking.store.js';
import type { PostgresOutboxStore } from './stores/postgres-outbox.store.js';

/** An outbox whose oldest unsent event is older than this reports `degraded`. */
export const OUTBOX_LAG_DEGRADED_MS = 30_000;
/** How long one backlog query answers for (the gauges of one scrape, a health check). */
const BACKLOG_REUSE_MS = 1_000;

/**
 * Readiness of messaging: `down` when the consumer group crashed (records are no longer
 * consumed); `degraded` while the producer is disconnected from Kafka (`publish()` fails,
 * the outbox holds events back), the consumer is (re)joining its group, the outbox cannot be
 * read, or its oldest unsent event is older than 30 s; else `up`. Details: transport,
 * producer, consumer state, outbox backlog and age of its oldest event, parked keys — never
 * broker credentials or database URLs.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'messaging' })
export class MessagingHealthIndicator implements KeelHealthCheck {
  private lastBacklog:
    { at: number; value: Promise<{ count: number; oldestMs: number } | undefined> } | undefined;

  constructor(
    @Inject(MessageTransport) private readonly transport: MessageTransport,
    @Inject(MessagingServer) private readonly server: MessagingServer,
    @Inject(OUTBOX_STORE) private readonly outbox: PostgresOutboxStore | null,
    @Inject(ParkingStore) private readonly parking: ParkingStore,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    // Read at scrape time, so the gauges are as fresh as the scrape (and cost nothing otherwise).
    const backlog = () => this.outboxBacklog();
    metrics.gauge({
      ...MESSAGING_METRICS.outboxBacklog,
      async collect() {
        const value = await backlog();
        if (value !== undefined) this.set(value.count);
      },
    });
    metrics.gauge({
      ...MESSAGING_METRICS.outboxLag,
      async collect() {
        const value = await backlog();
        if (value !== undefined) this.set(value.oldestMs / 1_000);
      },
    });
    const parked = () => this.parking.parkedCount();
    metrics.gauge({
      ...MESSAGING_METRICS.parkedKeys,
      async collect() {
        this.set(await parked());
      },
    });
  }

  async check(): Promise<KeelHealthReport> {
    const consumer = this.server.consumerState() ?? 'not started';
    const outbox = this.outbox === null ? undefined : await this.outboxBacklog();
    const details = {
      transport: this.transport.kind,
      producer: this.transport.connected ? 'connected' : 'disconnected',
      consumer,
      ...(this.outbox === null
        ? {}
        : outbox === undefined
          ? { outbox: 'unreadable' }
          : { outboxBacklog: outbox.count, outboxOldestMs: outbox.oldestMs }),
      parkedKeys: await this.parking.parkedCount(),
    };
    if (consumer === 'crashed') return { status: 'down', details };
    const degraded =
      !this.transport.connected ||
      consumer === 'joining' ||
      (this.outbox !== null && outbox === undefined) ||
      (outbox !== undefined && outbox.oldestMs > OUTBOX_LAG_DEGRADED_MS);
    return { status: degraded ? 'degraded' : 'up', details };
  }

  /**
   * The outbox backlog, or `undefined` when there is no outbox or it cannot be read. One query
   * serves the calls of the same second: a scrape reads two gauges, a health check one more.
   */
  private outboxBacklog(): Promise<{ count: number; oldestMs: number } | undefined> {
    const outbox = this.outbox;
    if (outbox === null || outbox.disabledReason !== undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.lastBacklog === undefined || now - this.lastBacklog.at > BACKLOG_REUSE_MS) {
      this.lastBacklog = { at: now, value: outbox.backlog().catch(() => undefined) };
    }
    return this.lastBacklog.value;
  }
}
