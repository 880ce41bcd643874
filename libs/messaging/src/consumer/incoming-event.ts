import type { KeelCloudEvent } from '../events/cloud-event.js';
import type { IncomingRecord } from '../kafka/message-transport.js';

/** A record read as a CloudEvent, or why it is not one. @internal */
export type DecodedRecord =
  | { readonly ok: true; readonly event: KeelCloudEvent }
  | { readonly ok: false; readonly problem: string };

const STRUCTURED = /^application\/cloudevents\+json/i;
const JSON_CONTENT = /^application\/([a-z0-9.+-]*\+)?json\b/i;
const REQUIRED = ['id', 'source', 'type'] as const;

/**
 * Reads a Kafka record as a CloudEvent 1.0 (Kafka protocol binding): structured mode when
 * `content-type` is `application/cloudevents+json`, binary mode when a `ce_specversion` header
 * is present. Anything else — bad JSON, a missing required attribute, a record that is no
 * CloudEvent — is malformed, and goes to the dead-letter topic at once.
 * @internal
 */
export function decodeRecord(record: IncomingRecord): DecodedRecord {
  const contentType = record.headers['content-type'] ?? '';
  if (STRUCTURED.test(contentType)) return decodeStructured(record);
  if (record.headers['ce_specversion'] !== undefined) return decodeBinary(record, contentType);
  return {
    ok: false,
    problem: 'not a CloudEvent: no ce_specversion header and not application/cloudevents+json',
  };
}

function decodeStructured(record: IncomingRecord): DecodedRecord {
  const parsed = parseJson(record.value);
  if (!parsed.ok) return { ok: false, problem: `structured event: ${parsed.problem}` };
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'structured event: the value is not a JSON object' };
  }
  const attributes = value as Record<string, unknown>;
  if ('data_base64' in attributes) {
    return {
      ok: false,
      problem: 'structured event: data_base64 is not supported (JSON data only)',
    };
  }
  return checked({ ...attributes } as Record<string, unknown>);
}

function decodeBinary(record: IncomingRecord, contentType: string): DecodedRecord {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (name.startsWith('ce_')) attributes[name.slice(3)] = value;
  }
  if (contentType !== '' && !JSON_CONTENT.test(contentType)) {
    return { ok: false, problem: `binary event: content-type ${contentType} is not JSON` };
  }
  if (record.value === null) {
    attributes['data'] = undefined;
  } else {
    const parsed = parseJson(record.value);
    if (!parsed.ok) return { ok: false, problem: `binary event data: ${parsed.problem}` };
    attributes['data'] = parsed.value;
  }
  attributes['datacontenttype'] = 'application/json';
  return checked(attributes);
}

function checked(attributes: Record<string, unknown>): DecodedRecord {
  if (attributes['specversion'] !== '1.0') {
    return {
      ok: false,
      problem: `specversion must be "1.0" (got ${JSON.stringify(attributes['specversion'])})`,
    };
  }
  for (const name of REQUIRED) {
    const value = attributes[name];
    if (typeof value !== 'string' || value === '') {
      return { ok: false, problem: `the required attribute ${name} is missing or empty` };
    }
  }
  attributes['datacontenttype'] ??= 'application/json';
  return { ok: true, event: attributes as unknown as KeelCloudEvent };
}

function parseJson(
  value: string | Buffer | null,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (value === null) return { ok: false, problem: 'the record has no value' };
  try {
    return {
      ok: true,
      value: JSON.parse(typeof value === 'string' ? value : value.toString('utf8')),
    };
  } catch (error) {
    return {
      ok: false,
      problem: `not JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}
