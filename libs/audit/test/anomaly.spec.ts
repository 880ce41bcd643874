import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { AnomalyDetector, linkEvents, type AuditAnomaly, type AuditEventInput } from '@keel/audit';
import { AnomalyRules, resolveAnomalyRules } from '../src/anomaly/anomaly-rules.js';
import { RedisWindowCounter } from '../src/anomaly/window-counter.js';
import { AUDIT_SETTINGS } from '../src/audit.constants.js';
import { DEFAULTS } from '../src/audit.settings.js';
import { AuditCommitHub } from '../src/writer/audit-commit-hub.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { preparedEvent } from './support.js';

const failedLogin = (ip: string) =>
  linkEvents(
    [
      preparedEvent({
        action: 'user.login',
        category: 'AUTHENTICATION',
        outcome: 'failure',
        actor: 'mallory',
        ip,
      }),
    ],
    undefined,
  )[0]!;

describe('anomaly windows shared through Redis', () => {
  it('3 failed logins on replica A and 3 on replica B (threshold 5) make one anomaly', async () => {
    const prefix = `${uniquePrefix('audit-anomaly')}:`;
    const a = new Redis(redisUrl());
    const b = new Redis(redisUrl());
    try {
      const rules = resolveAnomalyRules(DEFAULTS.anomalies as never);
      const replicaA = new AnomalyRules(rules, new RedisWindowCounter(a, prefix));
      const replicaB = new AnomalyRules(rules, new RedisWindowCounter(b, prefix));
      const found: AuditAnomaly[] = [];
      for (let i = 0; i < 3; i++) {
        found.push(...(await replicaA.evaluate(failedLogin(`10.0.1.${i}`))));
        found.push(...(await replicaB.evaluate(failedLogin(`10.0.2.${i}`))));
      }
      expect(found.map((x) => x.key)).toEqual(['actor:mallory']);
      expect(found[0]!.details).toMatchObject({ count: 5 });
      // Nothing grows forever: every key has a TTL.
      const keys = await a.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(await a.pttl(key)).toBeGreaterThan(0);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});

describe('AnomalyDetector', () => {
  it('records each anomaly as a SECURITY event, counts it, and tells onAnomaly and subscribers', async () => {
    const onAnomaly: AuditAnomaly[] = [];
    const recorded: AuditEventInput[] = [];
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          config: loadKeelConfig({
            env: { REDIS_URL: redisUrl(), KEEL_REDIS_KEY_PREFIX: `${uniquePrefix('ad')}:` },
          }),
        }),
      ],
      providers: [
        AuditCommitHub,
        AnomalyDetector,
        {
          provide: AUDIT_SETTINGS,
          useValue: {
            anomalies: {
              ...DEFAULTS.anomalies,
              onAnomaly: (x: AuditAnomaly) => void onAnomaly.push(x),
            },
          },
        },
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    try {
      const hub = app.get(AuditCommitHub);
      hub.setRecorder(async (event) => void recorded.push(event));
      const seen: string[] = [];
      app.get(AnomalyDetector).subscribe((x) => seen.push(x.rule));
      for (let i = 0; i < 5; i++)
        for (const listener of hub.current()) await listener([failedLogin(`10.3.0.${i}`)]);
      expect(seen).toEqual(['failed-logins']);
      expect(onAnomaly.map((x) => x.key)).toEqual(['actor:mallory']);
      expect(recorded).toEqual([
        expect.objectContaining({
          action: 'audit.anomaly.failed-logins',
          category: 'SECURITY',
          level: 'CRITICAL',
          actor: 'mallory',
        }),
      ]);
    } finally {
      await app.close();
    }
  });
});

describe('AnomalyDetector suppression', () => {
  async function detector(suppressMs: number) {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) })],
      providers: [
        AuditCommitHub,
        AnomalyDetector,
        { provide: AUDIT_SETTINGS, useValue: { anomalies: { ...DEFAULTS.anomalies, suppressMs } } },
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const hub = app.get(AuditCommitHub);
    hub.setRecorder(async () => undefined);
    const seen: string[] = [];
    app
      .get(AnomalyDetector)
      .subscribe((x) => seen.push(`${x.rule} ${x.key} ${x.event.occurredAt}`));
    const deliver = async (actor: string, occurredAt: string) => {
      const [record] = linkEvents(
        [preparedEvent({ actor, occurredAt, category: 'DATA_ACCESS' })],
        undefined,
      );
      for (const listener of hub.current()) await listener([record!]);
    };
    return { app, seen, deliver };
  }

  it('a night of batch work is one off-hours anomaly per actor per suppressMs, not one per event', async () => {
    const { app, seen, deliver } = await detector(600_000);
    try {
      for (let s = 0; s < 30; s++)
        await deliver('night-batch', `2026-12-02T02:00:${String(s).padStart(2, '0')}.000Z`);
      await deliver('bob', '2026-12-02T02:05:00.000Z');
      await deliver('night-batch', '2026-12-02T02:09:59.000Z'); // still quiet
      await deliver('night-batch', '2026-12-02T02:10:00.000Z'); // 10 min after the first
      expect(seen).toEqual([
        'off-hours night-batch 2026-12-02T02:00:00.000Z',
        'off-hours bob 2026-12-02T02:05:00.000Z',
        'off-hours night-batch 2026-12-02T02:10:00.000Z',
      ]);
    } finally {
      await app.close();
    }
  });

  it('suppressMs 0 raises every occurrence', async () => {
    const { app, seen, deliver } = await detector(0);
    try {
      for (let s = 0; s < 3; s++) await deliver('night-batch', `2026-12-02T02:00:0${s}.000Z`);
      expect(seen).toHaveLength(3);
    } finally {
      await app.close();
    }
  });
});
