import type { IncomingRecord, OutgoingRecord } from '../kafka/message-transport.js';

/** The retry topic of a topic and group: `<topic>.<group>.retry`. @internal */
export function retryTopic(topic: string, groupId: string): string {
  return `${topic}.${groupId}.retry`;
}

/** What a record on a retry topic carries in its `keel-retry-*` headers. @internal */
export interface RetryState {
  /** The topic the record was first consumed from. */
  readonly originalTopic: string;
  /** The retry round: 0 for a record waiting behind its key's head, then 1, 2, … */
  readonly round: number;
  /** When the round is due, in milliseconds since the epoch. */
  readonly dueAt: number;
  /** Handler attempts made so far (reported by a dead letter). */
  readonly attempts: number;
}

/** Reads the retry headers; `undefined` for a record that has none (not written by Keel). @internal */
export function readRetryState(record: IncomingRecord): RetryState | undefined {
  const originalTopic = record.headers['keel-dlt-original-topic'];
  const round = Number(record.headers['keel-retry-round']);
  const dueAt = Number(record.headers['keel-retry-due']);
  const attempts = Number(record.headers['keel-retry-attempts'] ?? '0');
  if (originalTopic === undefined || !Number.isInteger(round) || !Number.isFinite(dueAt)) {
    return undefined;
  }
  return { originalTopic, round, dueAt, attempts: Number.isInteger(attempts) ? attempts : 0 };
}

/**
 * The record as sent to the retry topic: key, value and headers unchanged, the origin in
 * `keel-dlt-original-*` (kept from an earlier round), the round, its due time and the attempts
 * so far in `keel-retry-*`.
 * @internal
 */
export function retryRecord(record: IncomingRecord, state: RetryState): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith('keel-retry-')) headers[name] = value;
  }
  headers['keel-dlt-original-topic'] = state.originalTopic;
  headers['keel-dlt-original-partition'] ??= String(record.partition);
  headers['keel-dlt-original-offset'] ??= record.offset;
  headers['keel-dlt-original-timestamp'] ??= String(record.timestamp);
  headers['keel-retry-round'] = String(state.round);
  headers['keel-retry-due'] = String(state.dueAt);
  headers['keel-retry-attempts'] = String(state.attempts);
  return { key: record.key, value: record.value ?? '', headers };
}
