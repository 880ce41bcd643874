import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../audit-event.js';
import { DEFAULTS } from '../audit.settings.js';
import { AnomalyRules, resolveAnomalyRules } from './anomaly-rules.js';
import { MemoryWindowCounter } from './window-counter.js';

const MINUTE = 60_000;
const MONDAY_NOON = Date.UTC(2026, 10, 30, 12, 0, 0);

function record(overrides: Partial<AuditRecord> & { at?: number } = {}): AuditRecord {
  const { at = MONDAY_NOON, ...rest } = overrides;
  return {
    id: `id-${Math.random()}`,
    chain: 'shard-0',
    seq: 1,
    prevHash: '',
    hash: '',
    occurredAt: new Date(at).toISOString(),
    service: 's',
    category: 'DATA_CHANGE',
    level: 'INFO',
    action: 'order.update',
    outcome: 'success',
    errorCode: null,
    actor: 'alice',
    tenant: null,
    ip: '10.0.0.1',
    userAgent: null,
    correlationId: null,
    resourceType: null,
    resourceId: null,
    subject: null,
    tags: [],
    durationMs: null,
    data: null,
    ...rest,
  };
}

const rules = () =>
  new AnomalyRules(resolveAnomalyRules(DEFAULTS.anomalies as never), new MemoryWindowCounter());

async function fired(r: AnomalyRules, events: AuditRecord[]): Promise<string[]> {
  const names: string[] = [];
  for (const e of events) for (const a of await r.evaluate(e)) names.push(`${a.rule}:${a.key}`);
  return names;
}

describe('anomaly rules', () => {
  it('failed-logins fires once at 5 failures of one actor within 5 minutes, not at 4, not per later failure', async () => {
    const r = rules();
    const failure = (i: number, actor = 'mallory') =>
      record({
        action: 'user.login',
        category: 'AUTHENTICATION',
        outcome: 'failure',
        actor,
        ip: `10.9.0.${i}`,
        at: MONDAY_NOON + i * 1_000,
      });
    expect(
      await fired(
        r,
        [1, 2, 3, 4].map((i) => failure(i)),
      ),
    ).toEqual([]);
    expect(await fired(r, [failure(5), failure(6), failure(7)])).toEqual([
      'failed-logins:actor:mallory',
    ]);
    // Successful logins and other actors do not count.
    expect(
      await fired(r, [
        record({ action: 'user.login', outcome: 'success', actor: 'mallory' }),
        failure(8, 'bob'),
      ]),
    ).toEqual([]);
  });

  it('failed-logins counts by IP too, and forgets failures older than the window', async () => {
    const r = rules();
    const failure = (actor: string, at: number) =>
      record({ action: 'auth.token', outcome: 'denied', actor, ip: '192.0.2.7', at });
    expect(
      await fired(
        r,
        [1, 2, 3, 4].map((i) => failure(`u${i}`, MONDAY_NOON + i)),
      ),
    ).toEqual([]);
    // Six minutes later the four are out of the window.
    expect(await fired(r, [failure('u5', MONDAY_NOON + 6 * MINUTE)])).toEqual([]);
    expect(
      await fired(
        r,
        [6, 7, 8, 9].map((i) => failure(`u${i}`, MONDAY_NOON + 6 * MINUTE + i)),
      ),
    ).toEqual(['failed-logins:ip:192.0.2.7']);
  });

  it('rate-spike stays silent on 100 minutes of steady traffic, then fires once on a 10× burst', async () => {
    const r = rules();
    const steady: AuditRecord[] = [];
    let seed = 7;
    for (let minute = 0; minute < 100; minute++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const count = 8 + (seed % 7); // 8..14 a minute
      for (let k = 0; k < count; k++)
        steady.push(record({ at: MONDAY_NOON + minute * MINUTE + k * 100 }));
    }
    expect((await fired(r, steady)).filter((n) => n.startsWith('rate-spike'))).toEqual([]);
    const burst = Array.from({ length: 110 }, (_, k) =>
      record({ at: MONDAY_NOON + 100 * MINUTE + k * 100 }),
    );
    expect((await fired(r, burst)).filter((n) => n.startsWith('rate-spike'))).toEqual([
      'rate-spike:alice|order.update',
    ]);
  });

  it('rate-spike does not judge a new actor before its baseline exists', async () => {
    const r = rules();
    const burst = Array.from({ length: 200 }, (_, k) =>
      record({ actor: 'newcomer', at: MONDAY_NOON + k }),
    );
    expect(await fired(r, burst)).toEqual([]);
  });

  it('off-hours flags data access at night and at weekends, not at noon on a Monday', async () => {
    const r = rules();
    const night = Date.UTC(2026, 10, 30, 2, 0, 0);
    const saturday = Date.UTC(2026, 10, 28, 12, 0, 0);
    expect(await fired(r, [record({ category: 'DATA_ACCESS' })])).toEqual([]);
    expect(
      await fired(r, [
        record({ category: 'DATA_ACCESS', at: night }),
        record({ category: 'DATA_ACCESS', at: saturday }),
      ]),
    ).toEqual(['off-hours:alice', 'off-hours:alice']);
    expect(await fired(r, [record({ category: 'SYSTEM_TASK', at: night })])).toEqual([]);
  });

  it('mass-export fires at 10 000 exported rows, privilege-change on a successful role change', async () => {
    const r = rules();
    expect(
      await fired(r, [
        record({ category: 'EXPORT', action: 'audit.export', data: { rows: 9_999 } }),
      ]),
    ).toEqual([]);
    expect(
      await fired(r, [
        record({ category: 'EXPORT', action: 'audit.export', data: { rows: 10_000 } }),
      ]),
    ).toEqual(['mass-export:alice']);
    expect(
      await fired(r, [
        record({ action: 'user.role.grant' }),
        record({ action: 'user.role.grant', outcome: 'denied' }),
      ]),
    ).toEqual(['privilege-change:alice']);
  });

  it('never evaluates an anomaly event itself', async () => {
    expect(
      await fired(rules(), [
        record({
          action: 'audit.anomaly.off-hours',
          category: 'DATA_ACCESS',
          at: Date.UTC(2026, 10, 30, 2),
        }),
      ]),
    ).toEqual([]);
  });
});
