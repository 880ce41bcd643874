import { describe, expect, it } from '@jest/globals';
import { RequestContext, loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { AuditEventInput } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { resolveAuditSettings } from '../audit.settings.js';
import type { AuditModuleOptions } from '../interfaces/audit-options.interface.js';
import { EventPreparer, isAuditLevel, isAuditOutcome } from './event-preparer.js';
import { REDACTED } from './redaction.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function settings(options: AuditModuleOptions = {}) {
  const core = resolveCoreSettings({
    serviceName: 'orders',
    redis: false,
    config: loadKeelConfig({ env: {} }),
  });
  return resolveAuditSettings(options, core);
}

function preparer(options: AuditModuleOptions = {}, instanceId = 'instance-1'): EventPreparer {
  return new EventPreparer(settings(options), instanceId);
}

/** The KEEL_AUDIT_INVALID_EVENT error `prepare` throws for `input`. */
function rejection(p: EventPreparer, input: unknown): AuditError {
  try {
    p.prepare(input as AuditEventInput);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditError);
    expect((error as AuditError).code).toBe('KEEL_AUDIT_INVALID_EVENT');
    return error as AuditError;
  }
  throw new Error('prepare() accepted the event');
}

describe('EventPreparer', () => {
  it('fills defaults for a minimal event outside any request', () => {
    const before = Date.now();
    const event = preparer().prepare({ action: 'order.read', category: 'DATA_ACCESS' });
    expect(event).toEqual({
      id: expect.stringMatching(UUID_V7),
      chain: expect.stringMatching(/^shard-\d+$/),
      occurredAt: expect.any(String),
      service: 'orders',
      category: 'DATA_ACCESS',
      level: 'INFO',
      action: 'order.read',
      outcome: 'success',
      errorCode: null,
      actor: null,
      tenant: null,
      ip: null,
      userAgent: null,
      correlationId: null,
      resourceType: null,
      resourceId: null,
      subject: null,
      tags: [],
      durationMs: null,
      data: null,
    });
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.occurredAt)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps every field the caller gives', () => {
    const event = preparer().prepare({
      action: 'order.update',
      category: 'DATA_CHANGE',
      level: 'NOTICE',
      outcome: 'denied',
      errorCode: 'http_403',
      resource: { type: 'order', id: 'o-1' },
      subject: 'customer-7',
      tags: ['sox', 'phi', 'sox'],
      actor: 'alice',
      tenant: 'acme',
      ip: '10.0.0.1',
      userAgent: 'curl/8',
      correlationId: 'c-1',
      durationMs: 12.5,
      occurredAt: new Date('2026-12-02T10:15:00.123Z'),
      data: { amount: 10 },
    });
    expect(event).toMatchObject({
      occurredAt: '2026-12-02T10:15:00.123Z',
      level: 'NOTICE',
      outcome: 'denied',
      errorCode: 'http_403',
      actor: 'alice',
      tenant: 'acme',
      ip: '10.0.0.1',
      userAgent: 'curl/8',
      correlationId: 'c-1',
      resourceType: 'order',
      resourceId: 'o-1',
      subject: 'customer-7',
      tags: ['phi', 'sox'],
      durationMs: 12.5,
      data: { amount: 10 },
    });
  });

  it('gives every event a new time-ordered id', () => {
    const p = preparer();
    const ids = Array.from(
      { length: 20 },
      () => p.prepare({ action: 'a', category: 'SYSTEM_TASK' }).id,
    );
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort()).toEqual(ids);
  });

  it('takes actor, tenant, ip, user agent and correlation id from the request context', () => {
    const p = preparer();
    const event = RequestContext.run(
      {
        correlationId: 'req-9',
        tenant: 'acme',
        actor: 'bob',
        ip: '192.0.2.4',
        userAgent: 'Mozilla/5.0',
      },
      () => p.prepare({ action: 'order.read', category: 'DATA_ACCESS' }),
    );
    expect(event).toMatchObject({
      actor: 'bob',
      tenant: 'acme',
      ip: '192.0.2.4',
      userAgent: 'Mozilla/5.0',
      correlationId: 'req-9',
    });
    // What the caller gives wins over the context.
    const explicit = RequestContext.run({ correlationId: 'req-9', actor: 'bob' }, () =>
      p.prepare({ action: 'a', category: 'DATA_ACCESS', actor: 'system', correlationId: 'c-2' }),
    );
    expect(explicit).toMatchObject({ actor: 'system', correlationId: 'c-2' });
  });

  it('chains by shard: one fixed shard per instance id, within the configured count', () => {
    const a = preparer({ chain: { shards: 4 } }, 'instance-a');
    expect(a.shardChain).toMatch(/^shard-[0-3]$/);
    expect(preparer({ chain: { shards: 4 } }, 'instance-a').shardChain).toBe(a.shardChain);
    expect(a.prepare({ action: 'x', category: 'SYSTEM_TASK' }).chain).toBe(a.shardChain);
    expect(preparer({ chain: { shards: 1 } }, 'anything').shardChain).toBe('shard-0');
    const shards = new Set(
      Array.from({ length: 64 }, (_, i) => preparer({ chain: { shards: 4 } }, `i-${i}`).shardChain),
    );
    expect(shards.size).toBeGreaterThan(1);
  });

  it('chains by tenant when asked, with "-" for events without a tenant', () => {
    const p = preparer({ chain: { by: 'tenant' } });
    expect(p.prepare({ action: 'x', category: 'SYSTEM_TASK', tenant: 'acme' }).chain).toBe(
      'tenant-acme',
    );
    expect(
      RequestContext.run({ tenant: 'globex' }, () =>
        p.prepare({ action: 'x', category: 'SYSTEM_TASK' }),
      ).chain,
    ).toBe('tenant-globex');
    expect(p.prepare({ action: 'x', category: 'SYSTEM_TASK' }).chain).toBe('tenant--');
  });

  it('accepts configured categories besides the built-in ones', () => {
    const p = preparer({ categories: ['BILLING'] });
    expect(p.categories.has('BILLING')).toBe(true);
    expect(p.categories.has('DATA_ACCESS')).toBe(true);
    expect(p.prepare({ action: 'invoice.send', category: 'BILLING' as never }).category).toBe(
      'BILLING',
    );
  });

  it('redacts the payload with the default and configured keys and paths', () => {
    const p = preparer({ redaction: { keys: ['pin'], paths: ['data.billing.holder'] } });
    const event = p.prepare({
      action: 'user.update',
      category: 'DATA_CHANGE',
      data: { password: 'hunter2', pin: '1234', billing: { holder: 'A. Smith', city: 'Oslo' } },
    });
    expect(event.data).toEqual({
      password: REDACTED,
      pin: REDACTED,
      billing: { holder: REDACTED, city: 'Oslo' },
    });
  });

  it('neutralises control characters in free-text fields and caps them at 512 characters', () => {
    const event = preparer().prepare({
      action: 'user.login',
      category: 'AUTHENTICATION',
      actor: 'mallory\nINFO forged line',
      userAgent: 'x'.repeat(600),
      tags: ['b\r', 'a', 'a'],
    });
    expect(event.actor).toBe('mallory\\nINFO forged line');
    expect(event.userAgent).toHaveLength(512);
    expect(event.tags).toEqual(['a', 'b\\r']);
  });

  it('names the field at fault for each malformed event', () => {
    const p = preparer();
    const cases: [unknown, RegExp][] = [
      [null, /event must be an object/],
      ['order.read', /event must be an object/],
      [{ action: 'a', category: 'NOPE' }, /category is "NOPE"; known: AUTHENTICATION, /],
      [{ action: 'a' }, /category is undefined/],
      [{ action: '  ', category: 'DATA_ACCESS' }, /action must be a non-empty string/],
      [{ action: 7, category: 'DATA_ACCESS' }, /action must be a non-empty string/],
      [{ action: 'a'.repeat(513), category: 'DATA_ACCESS' }, /action is longer than 512/],
      [{ action: 'a', category: 'DATA_ACCESS', level: 'LOUD' }, /level is "LOUD"; known: DEBUG/],
      [
        { action: 'a', category: 'DATA_ACCESS', outcome: 'maybe' },
        /outcome is "maybe"; known: success, failure, denied/,
      ],
      [{ action: 'a', category: 'DATA_ACCESS', durationMs: NaN }, /durationMs must be a finite/],
      [{ action: 'a', category: 'DATA_ACCESS', durationMs: '5' }, /durationMs must be a finite/],
      [
        { action: 'a', category: 'DATA_ACCESS', occurredAt: '2026-12-02' },
        /occurredAt must be a valid Date/,
      ],
      [
        { action: 'a', category: 'DATA_ACCESS', occurredAt: new Date('nope') },
        /occurredAt must be a valid Date/,
      ],
      [{ action: 'a', category: 'DATA_ACCESS', tenant: 'a/b' }, /tenant must be 1 to 128/],
    ];
    for (const [input, message] of cases) {
      const error = rejection(p, input);
      expect(error.message).toMatch(/^audit event rejected: /);
      expect(error.message).toMatch(message);
      expect(error.status).toBe(400);
    }
  });

  it('accepts an action of exactly 512 characters', () => {
    const action = 'a'.repeat(512);
    expect(preparer().prepare({ action, category: 'DATA_ACCESS' }).action).toBe(action);
  });
});

describe('isAuditLevel and isAuditOutcome', () => {
  it('know the levels and outcomes', () => {
    expect(isAuditLevel('CRITICAL')).toBe(true);
    expect(isAuditLevel('critical')).toBe(false);
    expect(isAuditOutcome('denied')).toBe(true);
    expect(isAuditOutcome('ok')).toBe(false);
  });
});
