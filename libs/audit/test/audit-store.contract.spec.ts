import { describe, expect, it } from '@jest/globals';
import { eventHash, GENESIS_HASH, type AuditCheckpoint, type AuditRecord } from '@keel/audit';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { fileStoreImplementation, postgresStoreImplementation, preparedEvent } from './support.js';

const recheck = (r: AuditRecord) => expect(eventHash(r, r.prevHash)).toBe(r.hash);

describeStoreContract(
  'AuditStore',
  [fileStoreImplementation, postgresStoreImplementation],
  (store) => {
    it('chains appended events from seq 1 and the genesis hash, each onto the previous', async () => {
      const [a, b, c] = await store().append([preparedEvent(), preparedEvent(), preparedEvent()]);
      expect([a!.seq, b!.seq, c!.seq]).toEqual([1, 2, 3]);
      expect(a!.prevHash).toBe(GENESIS_HASH);
      expect(b!.prevHash).toBe(a!.hash);
      expect(c!.prevHash).toBe(b!.hash);
      [a!, b!, c!].forEach(recheck);
      expect(await store().heads()).toEqual([{ chain: 'shard-0', seq: 3, hash: c!.hash }]);
    });

    it('keeps one chain per chain key, continuing across batches', async () => {
      await store().append([preparedEvent({ chain: 'x' }), preparedEvent({ chain: 'y' })]);
      const [x2, y2] = await store().append([
        preparedEvent({ chain: 'x' }),
        preparedEvent({ chain: 'y' }),
      ]);
      expect([x2!.seq, y2!.seq]).toEqual([2, 2]);
      expect((await store().heads()).map((h) => [h.chain, h.seq])).toEqual([
        ['x', 2],
        ['y', 2],
      ]);
    });

    it('never forks a chain under concurrent appends', async () => {
      await Promise.all(
        Array.from({ length: 8 }, () => store().append([preparedEvent(), preparedEvent()])),
      );
      const chain = await store().readChain('shard-0', 1, 100);
      expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
    });

    it('skips ids already stored when a batch is retried, storing none twice', async () => {
      const first = [preparedEvent(), preparedEvent()];
      await store().append(first);
      const again = await store().append([...first, preparedEvent()], { retry: true });
      expect(again.map((r) => r.seq)).toEqual([3]);
      expect(await store().readChain('shard-0', 1, 10)).toHaveLength(3);
    });

    it('reads back exactly what append returned (times, JSON payloads, unicode, tags)', async () => {
      const [stored] = await store().append([
        preparedEvent({
          data: {
            nested: { list: [1, 0.1, 1e21, 0, -2.5, true, null], text: 'żółw 🐢 "q" \\ tab\t' },
          },
          tags: ['phi', 'sox'],
          subject: 'user-7',
          errorCode: null,
          durationMs: null,
        }),
      ]);
      const [read] = await store().readChain('shard-0', 1, 1);
      expect(read).toEqual(stored);
      recheck(read!);
    });

    it('queries by every filter field, with wildcards, arrays and a half-open time range', async () => {
      const base = Date.UTC(2026, 11, 2, 12);
      const at = (m: number) => new Date(base + m * 60_000).toISOString();
      await store().append([
        preparedEvent({ occurredAt: at(0), action: 'order.create', actor: 'a', tags: ['sox'] }),
        preparedEvent({
          occurredAt: at(1),
          action: 'order.update',
          outcome: 'failure',
          level: 'WARNING',
        }),
        preparedEvent({
          occurredAt: at(2),
          action: 'user.login',
          category: 'AUTHENTICATION',
          tenant: 't2',
        }),
        preparedEvent({
          occurredAt: at(3),
          action: 'order_x',
          subject: 's1',
          correlationId: 'c-9',
        }),
      ]);
      const actions = async (filter: object) =>
        (await store().query(filter, { limit: 100 })).map((r) => r.action);
      expect(await actions({ action: 'order.*' })).toEqual(['order.create', 'order.update']);
      expect(await actions({ actor: 'a' })).toEqual(['order.create']);
      expect(await actions({ outcome: ['failure', 'denied'] })).toEqual(['order.update']);
      expect(await actions({ level: 'WARNING' })).toEqual(['order.update']);
      expect(await actions({ category: 'AUTHENTICATION', tenant: 't2' })).toEqual(['user.login']);
      expect(await actions({ subject: 's1' })).toEqual(['order_x']);
      expect(await actions({ correlationId: 'c-9' })).toEqual(['order_x']);
      expect(await actions({ tag: 'sox' })).toEqual(['order.create']);
      expect(await actions({ from: new Date(at(1)), to: new Date(at(3)) })).toEqual([
        'order.update',
        'user.login',
      ]);
      expect(await actions({ resourceType: 'order', resourceId: 'nope' })).toEqual([]);
    });

    it('pages by (occurredAt, id) returning every row exactly once, ties included', async () => {
      const sameTime = new Date(Date.UTC(2026, 11, 2, 13)).toISOString();
      const events = Array.from({ length: 500 }, (_, i) =>
        preparedEvent(i % 3 === 0 ? { occurredAt: sameTime } : {}),
      );
      for (let i = 0; i < events.length; i += 100) await store().append(events.slice(i, i + 100));
      const seen: string[] = [];
      let after: { occurredAt: string; id: string } | undefined;
      for (;;) {
        const page = await store().query({}, { after, limit: 37 });
        if (page.length === 0) break;
        seen.push(...page.map((r) => r.id));
        after = { occurredAt: page.at(-1)!.occurredAt, id: page.at(-1)!.id };
      }
      expect(seen).toHaveLength(500);
      expect(new Set(seen).size).toBe(500);
    });

    it('stores checkpoints exactly and lists them oldest first, per chain', async () => {
      const checkpoint = (chain: string, toSeq: number): AuditCheckpoint => ({
        chain,
        fromSeq: 1,
        toSeq,
        count: toSeq,
        lastHash: 'ab'.repeat(32),
        createdAt: '2026-12-02T10:00:00.123Z',
        reason: 'interval',
        previousSignature: '',
        algorithm: 'hmac-sha256',
        keyId: 'k1',
        signature: 'c2ln',
      });
      await store().appendCheckpoint(checkpoint('a', 1));
      await store().appendCheckpoint(checkpoint('b', 2));
      await store().appendCheckpoint(checkpoint('a', 3));
      expect(await store().checkpoints('a')).toEqual([checkpoint('a', 1), checkpoint('a', 3)]);
      expect(await store().checkpoints()).toHaveLength(3);
    });

    it('keeps a partition per month, counts in one, and drops exactly that month', async () => {
      await store().append([
        preparedEvent({ occurredAt: '2026-10-15T00:00:00.000Z', category: 'DATA_ACCESS' }),
        preparedEvent({ occurredAt: '2026-11-15T00:00:00.000Z' }),
        preparedEvent({ occurredAt: '2026-11-16T00:00:00.000Z' }),
      ]);
      const partitions = await store().partitions();
      expect(partitions.map((p) => p.from.toISOString())).toEqual([
        '2026-10-01T00:00:00.000Z',
        '2026-11-01T00:00:00.000Z',
      ]);
      expect(await store().countInPartition(partitions[1]!, {})).toBe(2);
      expect(await store().countInPartition(partitions[0]!, { category: 'DATA_ACCESS' })).toBe(1);
      await store().dropPartition(partitions[0]!);
      expect((await store().query({}, { limit: 10 })).map((r) => r.occurredAt.slice(0, 7))).toEqual(
        ['2026-11', '2026-11'],
      );
    });

    it('closes idempotently', async () => {
      await store().close();
      await expect(store().close()).resolves.toBeUndefined();
    });
  },
);

describe('FileAuditStore', () => {
  it('keeps its events across a restart, and cuts a torn last line instead of reading it', async () => {
    const { mkdtempSync, appendFileSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { FileAuditStore } = await import('@keel/audit');
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-restart-'));
    const first = new FileAuditStore({ directory });
    await first.init();
    const written = await first.append([preparedEvent(), preparedEvent()]);
    await first.close();
    const segment = readdirSync(directory).find((n) => n.startsWith('events-'))!;
    appendFileSync(join(directory, segment), '{"id":"torn'); // a crash mid-write
    const second = new FileAuditStore({ directory });
    await second.init();
    expect(await second.readChain('shard-0', 1, 10)).toEqual(written);
    const [next] = await second.append([preparedEvent()]);
    expect(next!.seq).toBe(3);
    expect(next!.prevHash).toBe(written[1]!.hash);
    await second.close();
  });

  it('refuses a directory another live process holds', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { FileAuditStore } = await import('@keel/audit');
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-lock-'));
    writeFileSync(join(directory, '.lock'), String(process.ppid));
    await expect(new FileAuditStore({ directory }).init()).rejects.toThrow(/in use by process/);
  });

  it('refuses a second store on a directory this process already has open, until the first closes', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { FileAuditStore } = await import('@keel/audit');
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-twice-'));
    const first = new FileAuditStore({ directory });
    await first.init();
    await expect(new FileAuditStore({ directory }).init()).rejects.toThrow(/in use by process/);
    await first.close();
    const again = new FileAuditStore({ directory });
    await expect(again.init()).resolves.toBeUndefined();
    await again.close();
  });
});
