import { createHash, randomUUID } from 'node:crypto';
import { RequestContext } from '@keel/core';
import {
  AUDIT_LEVELS,
  AUDIT_OUTCOMES,
  BUILT_IN_AUDIT_CATEGORIES,
  type AuditEventInput,
  type AuditLevel,
  type AuditOutcome,
  type PreparedAuditEvent,
} from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { invalidEvent } from '../audit.messages.js';
import { newEventId } from '../event-id.js';
import type { AuditSettings } from '../interfaces/audit-options.interface.js';
import {
  compileRedaction,
  neutralizeString,
  redactPayload,
  type RedactionRules,
} from './redaction.js';

const LEVELS: ReadonlySet<string> = new Set(AUDIT_LEVELS);
const OUTCOMES: ReadonlySet<string> = new Set(AUDIT_OUTCOMES);
const MAX_FIELD_LENGTH = 512;
const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * Turns what a caller records into an event ready to chain: validated, completed from the
 * request context, given an id and a chain, its tags sorted and its payload redacted. One per
 * AuditService, so one per writer instance.
 * @internal
 */
export class EventPreparer {
  /** Every category record() accepts. */
  readonly categories: ReadonlySet<string>;
  /**
   * The shard this instance writes to when chains are `by: 'shard'`: fixed for the instance's
   * life, from a hash of a random instance id. Each replica then appends to its own chain (most
   * of the time — shards are few, replicas may share one), so replicas rarely wait on each
   * other's chain-head lock, and the order within a chain is one process's order.
   */
  readonly shardChain: string;
  private readonly rules: RedactionRules;
  private readonly byTenant: boolean;
  private readonly service: string;

  constructor(settings: AuditSettings, instanceId: string = randomUUID()) {
    this.categories = new Set<string>([...BUILT_IN_AUDIT_CATEGORIES, ...settings.categories]);
    this.rules = compileRedaction(settings.redaction);
    this.byTenant = settings.chain.by === 'tenant';
    this.service = settings.serviceName;
    const digest = createHash('sha256').update(instanceId).digest();
    this.shardChain = `shard-${digest.readUInt32BE(0) % settings.chain.shards}`;
  }

  /**
   * @throws AuditError KEEL_AUDIT_INVALID_EVENT naming the field at fault.
   */
  prepare(input: AuditEventInput): PreparedAuditEvent {
    this.validate(input);
    const context = RequestContext.current();
    const tenant = input.tenant ?? context?.tenant;
    if (input.tenant !== undefined && !RequestContext.isValidTenant(input.tenant)) {
      throw invalid('tenant', 'must be 1 to 128 characters of A-Z a-z 0-9 . _ -');
    }
    return {
      id: newEventId(),
      chain: this.byTenant ? `tenant-${tenant ?? '-'}` : this.shardChain,
      occurredAt: occurredAt(input.occurredAt),
      service: this.service,
      category: input.category,
      level: input.level ?? 'INFO',
      action: input.action,
      outcome: input.outcome ?? 'success',
      errorCode: text(input.errorCode),
      actor: text(input.actor ?? context?.actor),
      tenant: tenant ?? null,
      ip: text(input.ip ?? context?.ip),
      userAgent: text(input.userAgent ?? context?.userAgent),
      correlationId: text(input.correlationId ?? context?.correlationId),
      resourceType: text(input.resource?.type),
      resourceId: text(input.resource?.id),
      subject: text(input.subject),
      tags: tags(input.tags),
      durationMs: input.durationMs ?? null,
      data: redactPayload(input.data, this.rules),
    };
  }

  private validate(input: AuditEventInput): void {
    if (input === null || typeof input !== 'object') throw invalid('event', 'must be an object');
    if (typeof input.category !== 'string' || !this.categories.has(input.category)) {
      throw invalid(
        'category',
        `is ${JSON.stringify(input.category)}; known: ${[...this.categories].join(', ')}`,
      );
    }
    if (typeof input.action !== 'string' || input.action.trim() === '') {
      throw invalid('action', 'must be a non-empty string');
    }
    if (input.action.length > MAX_FIELD_LENGTH) {
      throw invalid('action', `is longer than ${MAX_FIELD_LENGTH} characters`);
    }
    if (input.level !== undefined && !LEVELS.has(input.level)) {
      throw invalid(
        'level',
        `is ${JSON.stringify(input.level)}; known: ${AUDIT_LEVELS.join(', ')}`,
      );
    }
    if (input.outcome !== undefined && !OUTCOMES.has(input.outcome)) {
      throw invalid(
        'outcome',
        `is ${JSON.stringify(input.outcome)}; known: ${AUDIT_OUTCOMES.join(', ')}`,
      );
    }
    if (
      input.durationMs !== undefined &&
      (typeof input.durationMs !== 'number' || !Number.isFinite(input.durationMs))
    ) {
      throw invalid('durationMs', 'must be a finite number');
    }
    if (
      input.occurredAt !== undefined &&
      (!(input.occurredAt instanceof Date) || Number.isNaN(input.occurredAt.getTime()))
    ) {
      throw invalid('occurredAt', 'must be a valid Date');
    }
  }
}

function invalid(field: string, problem: string): AuditError {
  return new AuditError('KEEL_AUDIT_INVALID_EVENT', invalidEvent({ field, problem }));
}

let lastIsoMs = Number.NaN;
let lastIso = '';

/** ISO text of the time; under load many events share a millisecond, and toISOString is ~1 µs. */
function occurredAt(value: Date | undefined): string {
  const ms = value === undefined ? Date.now() : value.getTime();
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

// Free-text columns: neutralised like payload strings, capped so one field cannot bloat a row.
function text(value: string | undefined): string | null {
  if (value === undefined || value === null) return null;
  const clean = neutralizeString(String(value));
  return clean.length > MAX_FIELD_LENGTH ? clean.slice(0, MAX_FIELD_LENGTH) : clean;
}

function tags(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined || value.length === 0) return NO_TAGS;
  return [...new Set(value.map((tag) => neutralizeString(String(tag))))].sort();
}

/** True when `level` is a known level (for callers that take strings). @internal */
export function isAuditLevel(level: string): level is AuditLevel {
  return LEVELS.has(level);
}

/** True when `outcome` is a known outcome. @internal */
export function isAuditOutcome(outcome: string): outcome is AuditOutcome {
  return OUTCOMES.has(outcome);
}
