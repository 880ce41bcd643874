import { createHash } from 'node:crypto';
import type { AuditCheckpoint, AuditRecord, PreparedAuditEvent } from '../audit-event.js';

/**
 * The chain format, exactly as the README's "Chain format" section documents it — change one,
 * change the other (test/chain-format.spec.ts recomputes the README's worked example).
 *
 * hash(event) = lowercase hex of SHA-256( UTF-8( JCS(hashed fields) ) ‖ ASCII( prevHash ) )
 *
 * - JCS is RFC 8785: object keys sorted by UTF-16 code units, no whitespace, strings and numbers
 *   as ECMAScript's JSON.stringify writes them.
 * - The hashed fields are {@link HASHED_FIELDS}: every field of the record but `prevHash` and
 *   `hash`; absent values are `null` (never left out), `tags` is a sorted array.
 * - prevHash of seq 1 is {@link GENESIS_HASH}.
 */

// String.prototype.isWellFormed needs lib es2024; the same test as a pattern.
const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** prevHash of the first event of every chain: 64 zeros. @publicApi */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields that enter an event's hash, in JCS (sorted) order. @publicApi */
export const HASHED_FIELDS = [
  'action',
  'actor',
  'category',
  'chain',
  'correlationId',
  'data',
  'durationMs',
  'errorCode',
  'id',
  'ip',
  'level',
  'occurredAt',
  'outcome',
  'resourceId',
  'resourceType',
  'seq',
  'service',
  'subject',
  'tags',
  'tenant',
  'userAgent',
] as const satisfies readonly (keyof AuditRecord)[];

/**
 * RFC 8785 canonical JSON of a JSON value. Written here rather than taken from the
 * `canonicalize` package because that one requires Node 22, and the event envelope, whose keys
 * are known, can skip the sort (chain-format.spec.ts checks both against `canonicalize`).
 * @throws TypeError for values JSON cannot hold (undefined, functions, NaN, Infinity, BigInt,
 *   lone surrogates).
 * @publicApi
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      // The cheap test first: most strings hold no surrogate at all.
      if (ANY_SURROGATE.test(value) && LONE_SURROGATE.test(value)) {
        throw new TypeError('canonical JSON: lone surrogate in a string');
      }
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not JSON`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as object);
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}

function canonicalArray(values: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(values[i]);
  return out + ']';
}

function canonicalObject(value: object): string {
  const record = value as Record<string, unknown>;
  // Array.prototype.sort compares UTF-16 code units, which is the order RFC 8785 requires.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member);
    first = false;
  }
  return out + '}';
}

/** The canonical (JCS) form of an event's hashed fields. @publicApi */
export function canonicalEvent(event: PreparedAuditEvent & { readonly seq: number }): string {
  // The envelope's keys are known and already sorted: no sort, one concatenation.
  let out = '{';
  for (let i = 0; i < HASHED_FIELDS.length; i++) {
    const field = HASHED_FIELDS[i]!;
    out += (i === 0 ? '"' : ',"') + field + '":' + canonicalJson(event[field] ?? null);
  }
  return out + '}';
}

/** hash = SHA-256(canonical(event) ‖ prevHash), lowercase hex. @publicApi */
export function eventHash(
  event: PreparedAuditEvent & { readonly seq: number },
  prevHash: string,
): string {
  return createHash('sha256')
    .update(canonicalEvent(event), 'utf8')
    .update(prevHash, 'ascii')
    .digest('hex');
}

/**
 * Links prepared events onto a chain whose head is `head` (`undefined` for a new chain):
 * assigns seq, prevHash and hash in order. Every store appends through this function.
 * @publicApi
 */
export function linkEvents(
  events: readonly PreparedAuditEvent[],
  head: { readonly seq: number; readonly hash: string } | undefined,
): AuditRecord[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const linked: AuditRecord[] = [];
  for (const event of events) {
    seq += 1;
    const record = { ...event, seq, prevHash, hash: '' };
    record.hash = eventHash(record, prevHash);
    linked.push(record);
    prevHash = record.hash;
  }
  return linked;
}

/** The fields of a checkpoint its signature covers: all but `signature`. @publicApi */
export type CheckpointBody = Omit<AuditCheckpoint, 'signature'>;

/**
 * The bytes a checkpoint signature signs: UTF-8 of the JCS of every checkpoint field but
 * `signature` (algorithm, chain, count, createdAt, fromSeq, keyId, lastHash, previousSignature,
 * reason, toSeq).
 * @publicApi
 */
export function checkpointSigningInput(checkpoint: CheckpointBody): Buffer {
  const body: CheckpointBody = {
    algorithm: checkpoint.algorithm,
    chain: checkpoint.chain,
    count: checkpoint.count,
    createdAt: checkpoint.createdAt,
    fromSeq: checkpoint.fromSeq,
    keyId: checkpoint.keyId,
    lastHash: checkpoint.lastHash,
    previousSignature: checkpoint.previousSignature,
    reason: checkpoint.reason,
    toSeq: checkpoint.toSeq,
  };
  return Buffer.from(canonicalJson(body), 'utf8');
}

/**
 * Links a batch that may span several chains: each chain's events continue from `headOf(chain)`
 * in the order given. Returns the records in the batch's order.
 * @publicApi
 */
export function linkBatch(
  events: readonly PreparedAuditEvent[],
  headOf: (chain: string) => { readonly seq: number; readonly hash: string } | undefined,
): AuditRecord[] {
  const byChain = new Map<string, PreparedAuditEvent[]>();
  for (const event of events) {
    const list = byChain.get(event.chain);
    if (list === undefined) byChain.set(event.chain, [event]);
    else list.push(event);
  }
  const linked = new Map<string, AuditRecord>();
  for (const [chain, list] of byChain) {
    for (const record of linkEvents(list, headOf(chain))) linked.set(record.id, record);
  }
  return events.map((e) => linked.get(e.id)!);
}
