import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ForbiddenException, Logger, UnauthorizedException } from '@nestjs/common';
import { KeelDecoratorError, KeelError } from '@keel/core';
import type { Invocation, PolicyTarget } from '@keel/core/internal';
import { BUILT_IN_AUDIT_CATEGORIES, type AuditEventInput } from '../audit-event.js';
import type { AuditService } from '../audit.service.js';
import type { AuditedOptions } from './audited.decorator.js';
import { AuditedPolicyFactory } from './audited.policy.js';

/**
 * What the factory uses of AuditService: its categories and `enqueue`. `enqueue` records the
 * event and returns what `answer` says (the writer's sync-mode promise, a throw…).
 */
function fakeAudit() {
  const events: AuditEventInput[] = [];
  const fake = {
    events,
    answer: (): Promise<void> | undefined => undefined,
    categories: new Set<string>([...BUILT_IN_AUDIT_CATEGORIES, 'BILLING']),
    enqueue(event: AuditEventInput): Promise<void> | undefined {
      events.push(event);
      return fake.answer();
    },
  };
  return fake;
}

const target: PolicyTarget = {
  className: 'OrderService',
  methodName: 'update',
  label: 'OrderService.update',
  parameterNames: ['id', 'dto'],
  original: () => undefined,
  prototype: {},
  handlerType: 'provider',
  returnsPromise: false,
  policies: [],
};

function interceptor(options: AuditedOptions, audit = fakeAudit()) {
  const factory = new AuditedPolicyFactory(audit as unknown as AuditService);
  const intercept = factory.create(options, target);
  return {
    audit,
    call: (args: unknown[], next: (invocation: Invocation) => unknown) =>
      intercept({ instance: {}, args, target }, next),
  };
}

const BASE: AuditedOptions = { action: 'order.update', category: 'DATA_CHANGE' };

describe('AuditedPolicyFactory', () => {
  let errors: string[];

  beforeEach(() => {
    errors = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('at bootstrap', () => {
    it('refuses an empty action', () => {
      for (const action of ['', '  ', undefined]) {
        expect(() => interceptor({ ...BASE, action: action as never })).toThrow(
          new KeelDecoratorError(
            '@Audited on OrderService.update: action must be a non-empty string',
          ),
        );
      }
    });

    it('refuses an unknown category, listing the known ones', () => {
      let error: unknown;
      try {
        interceptor({ ...BASE, category: 'NOPE' as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KeelDecoratorError);
      expect((error as Error).message).toMatch(
        /^@Audited on OrderService\.update: unknown category "NOPE"; known: AUTHENTICATION, .*BILLING \(add it to AuditModule\.forRoot\(\{ categories \}\)\)$/,
      );
    });

    it('accepts a configured category', () => {
      expect(() => interceptor({ ...BASE, category: 'BILLING' as never })).not.toThrow();
    });

    it('refuses a key template naming an unknown parameter', () => {
      expect(() => interceptor({ ...BASE, resource: { type: 'order', id: '{orderId}' } })).toThrow(
        KeelDecoratorError,
      );
    });
  });

  describe('a synchronous method', () => {
    it('returns its value and records a success with resource, subject and sorted tags', () => {
      const { call, audit } = interceptor({
        ...BASE,
        resource: { type: 'order', id: '{id}' },
        subject: '{dto.customerId}',
        tags: ['sox', 'phi', 'sox'],
      });
      const before = Date.now();
      expect(call(['o-1', { customerId: 'c-7' }], () => 'done')).toBe('done');
      expect(audit.events).toHaveLength(1);
      const event = audit.events[0]!;
      expect(event).toEqual({
        action: 'order.update',
        category: 'DATA_CHANGE',
        level: 'INFO',
        outcome: 'success',
        errorCode: undefined,
        resource: { type: 'order', id: 'o-1' },
        subject: 'c-7',
        tags: ['phi', 'sox'],
        durationMs: expect.any(Number),
        occurredAt: expect.any(Date),
        data: undefined,
      });
      expect(event.occurredAt!.getTime()).toBeGreaterThanOrEqual(before);
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('records a failure with the error code and WARNING, and rethrows the error', () => {
      const { call, audit } = interceptor(BASE);
      const boom = new Error('boom');
      expect(() =>
        call([], () => {
          throw boom;
        }),
      ).toThrow(boom);
      expect(audit.events[0]).toMatchObject({
        outcome: 'failure',
        level: 'WARNING',
        errorCode: 'error',
      });
    });

    it('names a Keel error by its code, and a 401/403 as denied', () => {
      const { call, audit } = interceptor(BASE);
      const fail = (error: unknown) =>
        expect(() =>
          call([], () => {
            throw error;
          }),
        ).toThrow();
      fail(new KeelError('KEEL_LOCK_TIMEOUT', 'timed out', { status: 503 }));
      fail(new ForbiddenException());
      fail(new UnauthorizedException());
      fail(new KeelError('KEEL_AUDIT_FORBIDDEN', 'no', { status: 403 }));
      expect(audit.events.map((e) => [e.outcome, e.errorCode])).toEqual([
        ['failure', 'KEEL_LOCK_TIMEOUT'],
        ['denied', 'http_403'],
        ['denied', 'http_401'],
        ['denied', 'KEEL_AUDIT_FORBIDDEN'],
      ]);
    });

    it('keeps a configured level for every outcome', () => {
      const { call, audit } = interceptor({ ...BASE, level: 'CRITICAL' });
      call([], () => 1);
      expect(() =>
        call([], () => {
          throw new Error('x');
        }),
      ).toThrow();
      expect(audit.events.map((e) => e.level)).toEqual(['CRITICAL', 'CRITICAL']);
    });

    it('stores template values as they are, not key-escaped (a subject report must find them)', () => {
      const { call, audit } = interceptor({
        ...BASE,
        resource: { type: 'order', id: 'order:{id}' },
        subject: '{dto.email}',
      });
      call(['a/b c', { email: 'ann@example.com' }], () => 'ok');
      expect(audit.events[0]).toMatchObject({
        resource: { type: 'order', id: 'order:a/b c' },
        subject: 'ann@example.com',
      });
    });

    it('leaves a resource id empty when its argument is missing, and still records', () => {
      const { call, audit } = interceptor({ ...BASE, resource: { type: 'order', id: '{id}' } });
      call([undefined], () => 1);
      expect(audit.events[0]!.resource).toEqual({ type: 'order', id: undefined });
    });
  });

  describe('an async method', () => {
    it('resolves with its value and records once it settled', async () => {
      const { call, audit } = interceptor(BASE);
      let resolve!: (value: string) => void;
      const result = call([], () => new Promise<string>((r) => (resolve = r))) as Promise<string>;
      expect(audit.events).toHaveLength(0);
      resolve('ok');
      await expect(result).resolves.toBe('ok');
      expect(audit.events.map((e) => e.outcome)).toEqual(['success']);
    });

    it('rejects with its error and records the failure', async () => {
      const { call, audit } = interceptor(BASE);
      const boom = new Error('async boom');
      await expect(call([], () => Promise.reject(boom))).rejects.toBe(boom);
      expect(audit.events[0]).toMatchObject({ outcome: 'failure', errorCode: 'error' });
    });

    it('waits for a sync-mode commit before resolving or rejecting', async () => {
      const audit = fakeAudit();
      let commit!: () => void;
      audit.answer = () => new Promise<void>((r) => (commit = r));
      const { call } = interceptor(BASE, audit);
      let settled = false;
      const ok = (call([], async () => 'v') as Promise<string>).then((v) => {
        settled = true;
        return v;
      });
      await new Promise<void>((r) => setImmediate(r));
      expect(audit.events).toHaveLength(1);
      expect(settled).toBe(false);
      commit();
      await expect(ok).resolves.toBe('v');
      const boom = new Error('x');
      const failed = call([], async () => {
        throw boom;
      }) as Promise<unknown>;
      await new Promise<void>((r) => setImmediate(r));
      commit();
      await expect(failed).rejects.toBe(boom);
    });
  });

  describe('when recording fails', () => {
    it('logs and leaves the outcome alone when enqueue throws', () => {
      const audit = fakeAudit();
      audit.answer = () => {
        throw new Error('the audit writer is shutting down');
      };
      const { call } = interceptor(BASE, audit);
      expect(call([], () => 42)).toBe(42);
      expect(errors).toEqual([
        '@Audited on OrderService.update could not record its event: the audit writer is shutting down',
      ]);
    });

    it('logs and leaves the outcome alone when a sync-mode commit fails', async () => {
      const audit = fakeAudit();
      audit.answer = () => Promise.reject(new Error('not committed'));
      const { call } = interceptor(BASE, audit);
      await expect(call([], async () => 'value')).resolves.toBe('value');
      const boom = new Error('method failed');
      await expect(call([], () => Promise.reject(boom))).rejects.toBe(boom);
      expect(errors).toEqual([
        '@Audited on OrderService.update could not record its event: not committed',
        '@Audited on OrderService.update could not record its event: not committed',
      ]);
    });

    it('logs a non-Error rejection as text', async () => {
      const audit = fakeAudit();
      audit.answer = () => Promise.reject('string reason');
      const { call } = interceptor(BASE, audit);
      await call([], async () => 1);
      expect(errors).toEqual([
        '@Audited on OrderService.update could not record its event: string reason',
      ]);
    });
  });

  describe('capture', () => {
    it('is no data unless asked', () => {
      const { call, audit } = interceptor({ ...BASE, capture: { args: false, changes: false } });
      call([1], () => ({ before: 1, after: 2 }));
      expect(audit.events[0]!.data).toBeUndefined();
    });

    it('captures the arguments and the result', () => {
      const { call, audit } = interceptor({ ...BASE, capture: { args: true, result: true } });
      call(['o-1', { qty: 2 }], () => ({ ok: true }));
      expect(audit.events[0]!.data).toEqual({ args: ['o-1', { qty: 2 }], result: { ok: true } });
    });

    it('keeps the arguments but not the result of a failed call', () => {
      const { call, audit } = interceptor({
        ...BASE,
        capture: { args: true, result: true, changes: true },
      });
      expect(() =>
        call(['o-1'], () => {
          throw new Error('x');
        }),
      ).toThrow();
      expect(audit.events[0]!.data).toEqual({ args: ['o-1'] });
    });

    it('changes: true diffs a { before, after } result', () => {
      const { call, audit } = interceptor({ ...BASE, capture: { changes: true } });
      call([], () => ({ before: { status: 'open', n: 1 }, after: { status: 'paid', n: 1 } }));
      call([], () => ({ before: { n: 1 }, after: { n: 1 } }));
      call([], () => 'not a change set');
      expect(audit.events.map((e) => e.data)).toEqual([
        { changes: { status: { before: 'open', after: 'paid' } } },
        undefined,
        undefined,
      ]);
    });

    it('changes: a function derives the pair from the arguments and result', () => {
      const seen: unknown[][] = [];
      const { call, audit } = interceptor({
        ...BASE,
        capture: {
          changes: (args, result) => {
            seen.push([args, result]);
            return args[0] === 'skip' ? undefined : { before: args[1], after: result };
          },
        },
      });
      call(['o-1', { qty: 1 }], () => ({ qty: 3 }));
      call(['skip', {}], () => ({}));
      expect(seen).toEqual([
        [['o-1', { qty: 1 }], { qty: 3 }],
        [['skip', {}], {}],
      ]);
      expect(audit.events.map((e) => e.data)).toEqual([
        { changes: { qty: { before: 1, after: 3 } } },
        undefined,
      ]);
    });
  });
});
