import type { IncomingRecord, OutgoingRecord } from '../kafka/message-transport.js';

/** Longest stack trace kept in a dead letter's headers (UTF-16 units ≈ bytes for stacks). */
export const MAX_STACK_LENGTH = 8_192;

/** Why a record is dead-lettered: the last exception and how many attempts were made. @internal */
export interface DeadLetterCause {
  readonly code: string;
  readonly message: string;
  readonly stack?: string;
  readonly attempts: number;
}

/** The dead-letter topic of a topic and group: `<topic>.<group>.dlq`. @internal */
export function deadLetterTopic(topic: string, groupId: string): string {
  return `${topic}.${groupId}.dlq`;
}

/**
 * The dead letter of a record: its key, value and headers unchanged, plus `keel-dlt-*` headers
 * naming where it came from and the last exception (Spring Kafka's `kafka_dlt-*` set). Headers
 * already set by an earlier dead-lettering (a replayed record failing again) are replaced, so
 * only the last exception is kept.
 * @internal
 */
export function deadLetterRecord(
  record: IncomingRecord,
  groupId: string,
  cause: DeadLetterCause,
): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith('keel-dlt-')) headers[name] = value;
  }
  Object.assign(headers, {
    'keel-dlt-original-topic': record.headers['keel-dlt-original-topic'] ?? record.topic,
    'keel-dlt-original-partition':
      record.headers['keel-dlt-original-partition'] ?? String(record.partition),
    'keel-dlt-original-offset': record.headers['keel-dlt-original-offset'] ?? record.offset,
    'keel-dlt-original-timestamp':
      record.headers['keel-dlt-original-timestamp'] ?? String(record.timestamp),
    'keel-dlt-consumer-group': groupId,
    'keel-dlt-exception-code': cause.code,
    'keel-dlt-exception-message': oneLine(cause.message),
    'keel-dlt-attempts': String(cause.attempts),
    'keel-dlt-time': new Date().toISOString(),
  });
  if (cause.stack !== undefined) {
    headers['keel-dlt-exception-stacktrace'] = cause.stack.slice(0, MAX_STACK_LENGTH);
  }
  return { key: record.key, value: record.value ?? '', headers };
}

/** Header values are read by tools line by line: CR and LF become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, MAX_STACK_LENGTH);
}
