import { expect, it } from '@jest/globals';
import {
  AuditIntegrityService,
  AuditRetentionService,
  type AuditEventInput,
  type AuditRetentionOptions,
  type AuditStore,
  type PreparedAuditEvent,
} from '@keel/audit';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import type { AuditSettings } from '../src/interfaces/audit-options.interface.js';
import { AuditCommitHub } from '../src/writer/audit-commit-hub.js';
import { fileStoreImplementation, postgresStoreImplementation, preparedEvent } from './support.js';

const NOW = new Date('2026-12-15T00:00:00Z');

function services(
  store: AuditStore,
  retention: AuditRetentionOptions,
): {
  retention: AuditRetentionService;
  integrity: AuditIntegrityService;
  recorded: AuditEventInput[];
} {
  const hub = new AuditCommitHub();
  const recorded: AuditEventInput[] = [];
  hub.setRecorder(async (event) => {
    recorded.push(event);
  });
  const settings = {
    categories: [],
    checkpoints: { key: 'retention-test-hmac-key-of-32-chars!', keyId: 'k1', intervalMs: 60_000 },
    retention: { categories: {}, intervalMs: 0, legalHold: {}, ...retention },
  } as unknown as AuditSettings;
  const integrity = new AuditIntegrityService(settings, store, hub);
  return {
    retention: new AuditRetentionService(settings, store, integrity, hub),
    integrity,
    recorded,
  };
}

/** An event of `chain` at `occurredAt`. */
const at = (
  occurredAt: string,
  chain: string,
  overrides: Partial<PreparedAuditEvent> = {},
): PreparedAuditEvent => preparedEvent({ occurredAt, chain, ...overrides });

/** Four months, two chains, one month of DATA_ACCESS and DATA_CHANGE each. */
async function fourMonths(store: AuditStore): Promise<void> {
  for (const month of ['08', '09', '10', '11']) {
    const events: PreparedAuditEvent[] = [];
    for (let day = 10; day < 20; day++) {
      events.push(at(`2026-${month}-${day}T08:00:00.000Z`, 'shard-0', { category: 'DATA_ACCESS' }));
      events.push(at(`2026-${month}-${day}T09:00:00.000Z`, 'shard-1'));
    }
    await store.append(events);
  }
}

const RETENTION = { categories: { DATA_ACCESS: 30, DATA_CHANGE: 60 } };

describeStoreContract(
  'AuditRetentionService',
  [fileStoreImplementation, postgresStoreImplementation],
  (store) => {
    it('drops the months past every category’s retention, oldest first, and verify still passes', async () => {
      await fourMonths(store());
      const { retention, integrity, recorded } = services(store(), RETENTION);
      await integrity.checkpointNow();
      expect((await integrity.verify()).ok).toBe(true);

      const report = await retention.purge(NOW);
      // August and September are past 60 days; October still holds DATA_CHANGE within 60.
      expect(report.dropped.map((p) => [p.from.slice(0, 7), p.events])).toEqual([
        ['2026-08', 20],
        ['2026-09', 20],
      ]);
      expect(report.stoppedAt).toMatchObject({ reason: 'retention' });
      expect(report.stoppedAt!.detail).toMatch(/10 of its 20 events are within/);
      expect(report.anchoredChains).toBe(4);
      expect((await store().partitions()).map((p) => p.from.toISOString().slice(0, 7))).toEqual([
        '2026-10',
        '2026-11',
      ]);
      const verified = await integrity.verify();
      expect(verified.chains.map((c) => [c.chain, c.checked, c.firstBad])).toEqual([
        ['shard-0', 20, undefined],
        ['shard-1', 20, undefined],
      ]);
      expect(recorded).toMatchObject([{ action: 'audit.purge', category: 'SYSTEM_TASK' }]);

      // A second purge has nothing to do; one a month later takes October too.
      expect((await retention.purge(NOW)).dropped).toEqual([]);
      const later = await retention.purge(new Date('2027-01-01T00:00:00Z'));
      expect(later.dropped.map((p) => p.from.slice(0, 7))).toEqual(['2026-10']);
      expect((await integrity.verify()).ok).toBe(true);
      // New events after the purges chain on and verify.
      await store().append([at('2026-12-01T00:00:00.000Z', 'shard-0')]);
      await integrity.checkpointNow();
      expect((await integrity.verify()).ok).toBe(true);
    });

    it('a legal hold on a tenant or a resource blocks the purge of the months holding it', async () => {
      await fourMonths(store());
      await store().append([at('2026-08-25T00:00:00.000Z', 'shard-0', { tenant: 'litigated' })]);
      const byTenant = services(store(), { ...RETENTION, legalHold: { tenants: ['litigated'] } });
      const report = await byTenant.retention.purge(NOW);
      expect(report.dropped).toEqual([]);
      expect(report.stoppedAt).toMatchObject({ reason: 'legal-hold' });
      expect(report.stoppedAt!.detail).toMatch(/1 events under legal hold \(tenant litigated\)/);
      expect(await store().countInPartition((await store().partitions())[0]!, {})).toBe(21);

      const byResource = services(store(), {
        ...RETENTION,
        legalHold: { resources: [{ type: 'order', id: 'o-1' }] },
      });
      expect((await byResource.retention.purge(NOW)).stoppedAt).toMatchObject({
        reason: 'legal-hold',
        detail: expect.stringMatching(/resource order:o-1/) as unknown as string,
      });
      expect(byTenant.recorded).toEqual([]);
    });

    it('keeps a month holding a category without retention (kept forever) unless defaultDays covers it', async () => {
      await store().append([
        at('2026-08-10T00:00:00.000Z', 'shard-0', { category: 'DATA_ACCESS' }),
        at('2026-08-11T00:00:00.000Z', 'shard-0', { category: 'SECURITY' }),
      ]);
      const keepForever = services(store(), RETENTION);
      expect((await keepForever.retention.purge(NOW)).stoppedAt).toMatchObject({
        reason: 'retention',
        detail: expect.stringMatching(/1 of its 2 events/) as unknown as string,
      });
      const withDefault = services(store(), { ...RETENTION, defaultDays: 100 });
      expect((await withDefault.retention.purge(NOW)).dropped).toHaveLength(1);
      expect(await store().partitions()).toEqual([]);
      // Every event of the chain is gone; the anchor still accounts for all of them.
      expect((await withDefault.integrity.verify()).ok).toBe(true);
    });

    it('an event chained before the month’s last one but dated after it stays, and verify passes', async () => {
      // Two writers around midnight: the October event got seq 1, the September one seq 2.
      await store().append([
        at('2026-10-01T00:00:00.001Z', 'shard-0'),
        at('2026-09-30T23:59:59.999Z', 'shard-0'),
        at('2026-10-01T00:00:01.000Z', 'shard-0'),
      ]);
      const { retention, integrity } = services(store(), { defaultDays: 30 });
      expect((await retention.purge(new Date('2026-11-05T00:00:00Z'))).dropped).toHaveLength(1);
      const report = await integrity.verify();
      expect(report.ok).toBe(true);
      expect(report.chains[0]).toMatchObject({ chain: 'shard-0', checked: 1 });
    });

    it('a chain whose every event was purged goes on from its last seq and hash, not from genesis', async () => {
      await fourMonths(store());
      await store().append([
        at('2026-08-20T10:00:00.000Z', 'shard-9'),
        at('2026-08-21T10:00:00.000Z', 'shard-9'),
      ]);
      const before = (await store().heads()).find((h) => h.chain === 'shard-9')!;
      const { retention, integrity } = services(store(), RETENTION);
      await retention.purge(NOW);
      expect((await store().readChain('shard-9', 1, 10)).length).toBe(0);
      expect((await store().heads()).find((h) => h.chain === 'shard-9')).toEqual(before);
      const [next] = await store().append([at('2026-12-14T10:00:00.000Z', 'shard-9')]);
      expect(next).toMatchObject({ seq: before.seq + 1, prevHash: before.hash });
      const report = await integrity.verify();
      expect(report.ok).toBe(true);
      expect(report.chains.find((c) => c.chain === 'shard-9')).toMatchObject({ checked: 1 });
    });

    it('without a purge anchor, a chain whose start was removed is reported', async () => {
      await fourMonths(store());
      const { integrity } = services(store(), RETENTION);
      await store().dropPartition((await store().partitions())[0]!);
      const report = await integrity.verify();
      expect(report.chains[0]!.firstBad).toMatchObject({ reason: 'unanchored-start', seq: 11 });
    });
  },
);
