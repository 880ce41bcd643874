import type { PreparedAuditEvent } from '../src/audit-event.js';
import { newEventId } from '../src/event-id.js';

/**
 * Builds prepared events with unique ids, each dated `stepMs` after the previous one (from
 * `start`), so a test's events have a known order; `defaults` override the standard fields.
 * Pure: unit specs use it too.
 */
export function preparedEventFactory(
  start: number,
  stepMs: number,
  defaults: Partial<PreparedAuditEvent> = {},
): (overrides?: Partial<PreparedAuditEvent>) => PreparedAuditEvent {
  let clock = start;
  return (overrides = {}) => {
    clock += stepMs;
    return {
      id: newEventId(),
      chain: 'shard-0',
      occurredAt: new Date(clock).toISOString(),
      service: 'test',
      category: 'DATA_CHANGE',
      level: 'INFO',
      action: 'order.update',
      outcome: 'success',
      errorCode: null,
      actor: 'alice',
      tenant: 'acme',
      ip: '127.0.0.1',
      userAgent: 'jest',
      correlationId: 'c-1',
      resourceType: 'order',
      resourceId: 'o-1',
      subject: null,
      tags: [],
      durationMs: 1.5,
      data: { amount: 10 },
      ...defaults,
      ...overrides,
    };
  };
}

/** A prepared event with a unique id and a strictly later time than the previous one. */
export const preparedEvent = preparedEventFactory(Date.UTC(2026, 11, 2, 10, 0, 0), 1);
