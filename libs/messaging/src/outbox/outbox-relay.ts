import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter } from 'prom-client';
import { MESSAGING_SETTINGS } from '../messaging.constants.js';
import { MESSAGING_METRICS } from '../messaging.metrics.js';
import {
  outboxNeedsPg,
  outboxRowDead,
  outboxOff,
  relayFailed,
  relayLeading,
  relayNotLeading,
} from '../messaging.messages.js';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import { MessageTransport } from '../kafka/message-transport.js';
import type { OutboxRow } from '../stores/outbox.store.js';
import { OUTBOX_STORE } from '../messaging.constants.js';
import type { PostgresOutboxStore } from '../stores/postgres-outbox.store.js';

/** How often a relay that does not lead tries to, in polls. */
const FOLLOWER_POLLS = 4;
/** Sent rows are kept this long, then pruned (a day: enough to look at what went out). */
const SENT_RETENTION_MS = 86_400_000;

/**
 * Publishes the outbox. One relay leads across the fleet — the process whose dedicated
 * PostgreSQL session holds the outbox's advisory lock — and the others wait to take over. The
 * leader reads the oldest unsent rows, sends them topic run by topic run in outbox order (so
 * one key's events keep their order), and marks each run sent on the same session: a relay that
 * lost its session lost its lock, and cannot mark anything. A send that fails is retried from
 * the same row with backoff; nothing behind it is sent first — unless Kafka refuses the row for
 * good (too large, invalid): that row becomes a dead row (`dead_at` set; listed and requeued by
 * `keel-messaging outbox`) and the rest go on. A crash between a send and its
 * mark resends the run: delivery is at least once, and consumers dedupe on `ce_source` + `ce_id`.
 * @publicApi
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelMessaging');
  private readonly relayed: Counter<string>;
  private readonly dead: Counter<string>;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private failures = 0;
  private lastPrune = 0;

  constructor(
    @Inject(MESSAGING_SETTINGS) private readonly settings: MessagingSettings,
    @Inject(OUTBOX_STORE) private readonly store: PostgresOutboxStore | null,
    @Inject(MessageTransport) private readonly transport: MessageTransport,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.relayed = metrics.counter(MESSAGING_METRICS.relayed);
    this.dead = metrics.counter(MESSAGING_METRICS.outboxDead);
    if (store !== null) store.onNotify = () => this.wake?.();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.store === null) return;
    try {
      await this.store.init();
    } catch (error) {
      // Asked for, the outbox must work: stop startup.
      if (this.settings.outbox.requested) throw error;
      // Only implied by DATABASE_URL, it must not stop a service that never uses it. Without
      // pg it stays off (publishInTransaction says why); a database that is down at startup
      // is retried by the relay loop.
      if (isMissingPeer(error)) {
        this.store.disabledReason = errorText(error);
        this.logger.warn(outboxOff({ reason: this.store.disabledReason }));
        return;
      }
    }
    this.running = this.loop(this.store);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    await this.store?.close();
  }

  /** True while this process is the fleet's relay. */
  get leading(): boolean {
    return this.store?.leading ?? false;
  }

  /** After a permanent refusal: each row alone, so only the refused ones become dead rows. */
  private async sendOneByOne(store: PostgresOutboxStore, run: readonly OutboxRow[]): Promise<void> {
    for (const row of run) {
      try {
        await this.transport.send(row.topic, [row]);
      } catch (error) {
        if (!isPermanentSendError(error)) throw error; // transient after all: retry from here
        await store.markDead(row.n, errorText(error));
        this.dead.inc({ topic: row.topic });
        this.logger.error(outboxRowDead({ id: row.id, topic: row.topic, error: errorText(error) }));
        continue;
      }
      await store.markSent([row.n]);
      this.relayed.inc({ topic: row.topic });
    }
  }

  private async loop(store: PostgresOutboxStore): Promise<void> {
    const { pollIntervalMs, batchSize } = this.settings.outbox;
    while (!this.stopping) {
      try {
        await store.init(); // a no-op once open
        if (!store.leading) {
          if (!(await store.tryLead('default'))) {
            await this.sleep(pollIntervalMs * FOLLOWER_POLLS);
            continue;
          }
          this.logger.log(relayLeading({ table: this.settings.outbox.tablePrefix }));
        }
        const rows = await store.unsent(batchSize);
        if (rows.length > 0) await this.relay(store, rows);
        this.failures = 0;
        await this.pruneIfDue(store);
        if (rows.length < batchSize) await this.sleep(pollIntervalMs);
      } catch (error) {
        this.failures++;
        const { retryBaseMs, retryMaxMs } = this.settings.outbox;
        const delayMs = Math.min(retryBaseMs * 2 ** Math.min(this.failures - 1, 20), retryMaxMs);
        this.logger.warn(relayFailed({ error: errorText(error), delayMs }));
        if (isSessionError(error)) await store.resign();
        await this.sleep(delayMs);
      }
    }
  }

  /** Sends consecutive rows of one topic together, in outbox order; marks each run sent. */
  private async relay(store: PostgresOutboxStore, rows: readonly OutboxRow[]): Promise<void> {
    for (let start = 0; start < rows.length && !this.stopping;) {
      let end = start + 1;
      while (end < rows.length && rows[end]!.topic === rows[start]!.topic) end++;
      const run = rows.slice(start, end);
      try {
        await this.transport.send(run[0]!.topic, run);
      } catch (error) {
        if (isPermanentSendError(error)) {
          // Kafka refuses a record for good (too large, invalid): find it, set it aside as a
          // dead row, send the rest — rather than hold the whole outbox back forever.
          await this.sendOneByOne(store, run);
          start = end;
          continue;
        }
        // Only the head of the run is marked: it is what holds the outbox back, and rewriting
        // every row of a 500-row run on each failed round of a long outage bloats the table
        // (the benchmark's backlog of 100 000 rows filled at ~190 rows/s while it did).
        await store.markFailed([run[0]!.n], errorText(error));
        throw error;
      }
      await store.markSent(run.map((r) => r.n));
      this.relayed.inc({ topic: run[0]!.topic }, run.length);
      start = end;
    }
  }

  private async pruneIfDue(store: PostgresOutboxStore): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    await store.prune(SENT_RETENTION_MS);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.wake = wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissingPeer(error: unknown): boolean {
  return errorText(error) === outboxNeedsPg();
}

/** A lost or broken database session: the lock went with it, so leadership must be re-won. */
function isSessionError(error: unknown): boolean {
  const text = errorText(error);
  if (errorText(error) === relayNotLeading()) return true;
  return /Connection terminated|ECONNRESET|ECONNREFUSED|terminating connection|Client has encountered a connection error|not queryable/i.test(
    text,
  );
}

/**
 * Kafka's answers that no retry changes: the record itself is refused. Everything else — the
 * broker unreachable, a leader moving, an authorization error an operator can fix — is retried
 * for ever, so nothing is lost.
 */
const PERMANENT_KAFKA_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
]);

function isPermanentSendError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && PERMANENT_KAFKA_ERRORS.has(type)) return true;
    e =
      (e as { originalError?: unknown; cause?: unknown }).originalError ??
      (e as { cause?: unknown }).cause;
  }
  return false;
}
