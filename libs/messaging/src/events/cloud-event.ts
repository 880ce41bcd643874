import type { CloudEventMode } from '../interfaces/messaging-options.interface.js';
import type { OutgoingRecord } from '../kafka/message-transport.js';

/** A CloudEvents 1.0 event as Keel publishes it (JSON data). @publicApi */
export interface KeelCloudEvent<T = unknown> {
  readonly specversion: '1.0';
  /** UUIDv7: unique per source, sortable by time. */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** RFC 3339, UTC, milliseconds. */
  readonly time: string;
  readonly subject?: string;
  readonly datacontenttype: 'application/json';
  readonly data: T;
  /** Extension: the correlation id of the unit of work that published it. */
  readonly correlationid?: string;
  /** Extension (CloudEvents distributed tracing): the W3C trace context, passed through. */
  readonly traceparent?: string;
  /** Extension: the authenticated principal of the unit of work that published it. */
  readonly actor?: string;
  /** Extension: the tenant of the unit of work that published it. */
  readonly tenant?: string;
}

/** Attributes in binary mode, as `ce_<name>` headers (CloudEvents Kafka binding 1.0, §3.2.3). */
const BINARY_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'correlationid',
  'traceparent',
  'actor',
  'tenant',
] as const;

/**
 * The Kafka record of an event. Binary mode: attributes in `ce_*` headers, `content-type` the
 * data's, the value the data's JSON. Structured mode: the whole event as JSON in the value,
 * `content-type: application/cloudevents+json; charset=UTF-8`. Written here rather than with
 * the `cloudevents` package: eight headers on the publish path do not need its validator
 * (its `Kafka.toEvent` reads these records back in the tests, in both modes). The Kafka key is
 * the event's key; `traceparent` is also sent as a plain header, where W3C
 * propagators (OpenTelemetry's kafkajs instrumentation) look for them.
 * @internal
 */
export function toKafkaRecord(
  event: KeelCloudEvent,
  options: {
    readonly mode: CloudEventMode;
    readonly key: string | undefined;
    readonly data: string;
    readonly headers: Readonly<Record<string, string>>;
  },
): OutgoingRecord {
  const headers: Record<string, string> = { ...options.headers };
  if (event.traceparent !== undefined) headers['traceparent'] = event.traceparent;
  if (options.mode === 'structured') {
    headers['content-type'] = 'application/cloudevents+json; charset=UTF-8';
    const { data: _data, ...attributes } = event;
    const value = `${JSON.stringify(attributes).slice(0, -1)},"data":${options.data}}`;
    return { key: options.key ?? null, value, headers };
  }
  for (const name of BINARY_ATTRIBUTES) {
    const value = event[name];
    if (value !== undefined) headers[`ce_${name}`] = value;
  }
  headers['content-type'] = event.datacontenttype;
  return { key: options.key ?? null, value: options.data, headers };
}
