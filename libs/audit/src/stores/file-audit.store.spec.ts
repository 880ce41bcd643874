import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AuditCheckpoint, AuditRecord } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { GENESIS_HASH, eventHash } from '../chain/chain-format.js';
import { FileAuditStore } from './file-audit.store.js';
import { preparedEvent } from '../../test/events.js';

function checkpoint(overrides: Partial<AuditCheckpoint> = {}): AuditCheckpoint {
  return {
    chain: 'shard-0',
    fromSeq: 1,
    toSeq: 2,
    count: 2,
    lastHash: 'ab'.repeat(32),
    createdAt: '2026-12-02T10:00:00.000Z',
    reason: 'interval',
    previousSignature: '',
    algorithm: 'hmac-sha256',
    keyId: 'k1',
    signature: 'c2ln',
    ...overrides,
  };
}

const NOVEMBER = '2026-11-20T08:00:00.000Z';
const DECEMBER = '2026-12-05T08:00:00.000Z';
const at = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

describe('FileAuditStore', () => {
  let directory: string;
  const open: FileAuditStore[] = [];

  async function openStore(): Promise<FileAuditStore> {
    const store = new FileAuditStore({ directory });
    open.push(store);
    await store.init();
    return store;
  }

  const lines = (name: string): AuditRecord[] =>
    readFileSync(join(directory, name), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as AuditRecord);

  beforeEach(() => {
    directory = join(mkdtempSync(join(tmpdir(), 'keel-audit-unit-')), 'store');
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    rmSync(join(directory, '..'), { recursive: true, force: true });
  });

  it('creates its directory and a lock file holding this pid, removed at close', async () => {
    const store = await openStore();
    expect(store.kind).toBe('file');
    expect(readFileSync(join(directory, '.lock'), 'utf8')).toBe(String(process.pid));
    await store.close();
    expect(existsSync(join(directory, '.lock'))).toBe(false);
    await store.close(); // idempotent
  });

  it('chains appended events from the genesis hash and writes them to the month file', async () => {
    const store = await openStore();
    const events = [preparedEvent(), preparedEvent(), preparedEvent()];
    const records = await store.append(events);
    expect(records.map((r) => [r.id, r.seq])).toEqual(events.map((e, i) => [e.id, i + 1]));
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records[2]!.prevHash).toBe(records[1]!.hash);
    for (const r of records) expect(r.hash).toBe(eventHash(r, r.prevHash));
    expect(lines('events-2026-12.ndjson')).toEqual(records);
    // The next batch continues the chain.
    const [next] = await store.append([preparedEvent()]);
    expect(next).toMatchObject({ seq: 4, prevHash: records[2]!.hash });
    expect(await store.heads()).toEqual([{ chain: 'shard-0', seq: 4, hash: next!.hash }]);
  });

  it('keeps one chain per name, heads sorted by chain', async () => {
    const store = await openStore();
    const records = await store.append([
      preparedEvent({ chain: 'tenant-b' }),
      preparedEvent({ chain: 'tenant-a' }),
      preparedEvent({ chain: 'tenant-b' }),
    ]);
    expect(records.map((r) => [r.chain, r.seq])).toEqual([
      ['tenant-b', 1],
      ['tenant-a', 1],
      ['tenant-b', 2],
    ]);
    expect((await store.heads()).map((h) => [h.chain, h.seq])).toEqual([
      ['tenant-a', 1],
      ['tenant-b', 2],
    ]);
    expect((await store.readChain('tenant-b', 1, 10)).map((r) => r.id)).toEqual([
      records[0]!.id,
      records[2]!.id,
    ]);
    expect(await store.readChain('nope', 1, 10)).toEqual([]);
  });

  it('reads a chain from a seq, at most limit rows', async () => {
    const store = await openStore();
    await store.append(Array.from({ length: 6 }, () => preparedEvent()));
    expect((await store.readChain('shard-0', 3, 2)).map((r) => r.seq)).toEqual([3, 4]);
    expect((await store.readChain('shard-0', 5, 10)).map((r) => r.seq)).toEqual([5, 6]);
    expect(await store.readChain('shard-0', 7, 10)).toEqual([]);
  });

  it('queries in (occurredAt, id) order whatever the append order, with keyset pages', async () => {
    const store = await openStore();
    const late = preparedEvent({ occurredAt: '2026-12-03T00:00:00.000Z', actor: 'bob' });
    const early = preparedEvent({ occurredAt: '2026-12-01T00:00:00.000Z' });
    const middle = preparedEvent({ occurredAt: '2026-12-02T00:00:00.000Z', actor: 'bob' });
    await store.append([late]);
    await store.append([early, middle]);
    const all = await store.query({}, { limit: 10 });
    expect(all.map((r) => r.id)).toEqual([early.id, middle.id, late.id]);
    const first = await store.query({}, { limit: 2 });
    expect(first.map((r) => r.id)).toEqual([early.id, middle.id]);
    const second = await store.query({}, { limit: 2, after: first[1]! });
    expect(second.map((r) => r.id)).toEqual([late.id]);
    expect(await store.query({ actor: 'bob' }, { limit: 10 })).toHaveLength(2);
    expect(
      (await store.query({ actor: 'bob' }, { limit: 10, after: middle })).map((r) => r.id),
    ).toEqual([late.id]);
    expect(await store.query({ actor: 'carol' }, { limit: 10 })).toEqual([]);
  });

  it('with retry, skips events already stored instead of storing them twice', async () => {
    const store = await openStore();
    const a = preparedEvent();
    const b = preparedEvent();
    await store.append([a]);
    const records = await store.append([a, b], { retry: true });
    expect(records.map((r) => [r.id, r.seq])).toEqual([[b.id, 2]]);
    expect(await store.query({}, { limit: 10 })).toHaveLength(2);
    expect(lines('events-2026-12.ndjson').map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it('reloads events and checkpoints when reopened', async () => {
    const first = await openStore();
    const records = await first.append([preparedEvent(), preparedEvent({ chain: 'other' })]);
    await first.appendCheckpoint(checkpoint({ lastHash: records[0]!.hash, toSeq: 1 }));
    await first.close();
    const second = await openStore();
    expect(await second.query({}, { limit: 10 })).toEqual(records);
    expect((await second.heads()).map((h) => h.chain)).toEqual(['other', 'shard-0']);
    expect(await second.checkpoints()).toEqual([
      checkpoint({ lastHash: records[0]!.hash, toSeq: 1 }),
    ]);
    const [next] = await second.append([preparedEvent()]);
    expect(next).toMatchObject({ seq: 2, prevHash: records[0]!.hash });
    await second.init(); // idempotent: nothing loaded twice
    expect(await second.query({}, { limit: 10 })).toHaveLength(3);
  });

  it('a failed start leaves the directory unlocked, so the next start can open it', async () => {
    mkdirSync(join(directory, 'events-2026-12.ndjson'), { recursive: true }); // unreadable
    const failing = new FileAuditStore({ directory });
    await expect(failing.init()).rejects.toThrow(/EISDIR/);
    expect(existsSync(join(directory, '.lock'))).toBe(false);
    rmSync(join(directory, 'events-2026-12.ndjson'), { recursive: true });
    const next = new FileAuditStore({ directory });
    await expect(next.init()).resolves.toBeUndefined();
    await next.close();
  });

  it('cuts a torn last line (a crash mid-write) off the file at the next start', async () => {
    const first = await openStore();
    const records = await first.append([preparedEvent(), preparedEvent()]);
    await first.close();
    const file = join(directory, 'events-2026-12.ndjson');
    const intact = statSync(file).size;
    appendFileSync(file, '{"id":"torn","chain":"sha');
    const second = await openStore();
    expect(await second.query({}, { limit: 10 })).toEqual(records);
    expect(statSync(file).size).toBe(intact);
  });

  it('stores and lists checkpoints per chain, oldest first', async () => {
    const store = await openStore();
    const a1 = checkpoint({ chain: 'a', signature: 'MQ==' });
    const b1 = checkpoint({ chain: 'b', signature: 'Mg==' });
    const a2 = checkpoint({ chain: 'a', fromSeq: 3, toSeq: 4, previousSignature: 'MQ==' });
    for (const c of [a1, b1, a2]) await store.appendCheckpoint(c);
    expect(await store.checkpoints()).toEqual([a1, b1, a2]);
    expect(await store.checkpoints('a')).toEqual([a1, a2]);
    expect(await store.checkpoints('c')).toEqual([]);
    expect(readFileSync(join(directory, 'checkpoints.ndjson'), 'utf8')).toBe(
      [a1, b1, a2].map((c) => JSON.stringify(c) + '\n').join(''),
    );
  });

  describe('partitions (one file per month)', () => {
    async function twoMonths(store: FileAuditStore) {
      return store.append([
        preparedEvent({ occurredAt: at(NOVEMBER, 0), chain: 'a' }),
        preparedEvent({ occurredAt: at(NOVEMBER, 1), chain: 'b', category: 'EXPORT' }),
        preparedEvent({ occurredAt: at(NOVEMBER, 2), chain: 'a' }),
        preparedEvent({ occurredAt: at(DECEMBER, 0), chain: 'a' }),
      ]);
    }

    it('writes each event to the file of its month and lists the months', async () => {
      const store = await openStore();
      const records = await twoMonths(store);
      expect(lines('events-2026-11.ndjson').map((r) => r.id)).toEqual(
        records.slice(0, 3).map((r) => r.id),
      );
      expect(lines('events-2026-12.ndjson').map((r) => r.id)).toEqual([records[3]!.id]);
      expect(await store.partitions()).toEqual([
        {
          name: 'events-2026-11.ndjson',
          from: new Date('2026-11-01T00:00:00.000Z'),
          to: new Date('2026-12-01T00:00:00.000Z'),
        },
        {
          name: 'events-2026-12.ndjson',
          from: new Date('2026-12-01T00:00:00.000Z'),
          to: new Date('2027-01-01T00:00:00.000Z'),
        },
      ]);
    });

    it('counts matching events and finds the last event of each chain within a month', async () => {
      const store = await openStore();
      const records = await twoMonths(store);
      const [november, december] = await store.partitions();
      expect(await store.countInPartition(november!, {})).toBe(3);
      expect(await store.countInPartition(november!, { category: 'EXPORT' })).toBe(1);
      expect(await store.countInPartition(december!, { category: 'EXPORT' })).toBe(0);
      // A filter's own period does not widen the partition.
      expect(
        await store.countInPartition(december!, { from: new Date(0), to: new Date(DECEMBER) }),
      ).toBe(1);
      expect(await store.lastInPartition(november!)).toEqual([
        { chain: 'a', seq: 2, hash: records[2]!.hash },
        { chain: 'b', seq: 1, hash: records[1]!.hash },
      ]);
      expect(await store.lastInPartition(december!)).toEqual([
        { chain: 'a', seq: 3, hash: records[3]!.hash },
      ]);
    });

    it('drops a month: its file and its events go, the rest stays, and survives a reopen', async () => {
      const store = await openStore();
      const records = await twoMonths(store);
      const [november] = await store.partitions();
      await store.dropPartition(november!);
      expect(existsSync(join(directory, 'events-2026-11.ndjson'))).toBe(false);
      expect((await store.query({}, { limit: 10 })).map((r) => r.id)).toEqual([records[3]!.id]);
      expect((await store.readChain('a', 1, 10)).map((r) => r.seq)).toEqual([3]);
      expect(await store.readChain('b', 1, 10)).toEqual([]);
      expect((await store.partitions()).map((p) => p.name)).toEqual(['events-2026-12.ndjson']);
      expect((await store.heads()).map((h) => h.chain)).toEqual(['a']);
      await store.close();
      const reopened = await openStore();
      expect((await reopened.query({}, { limit: 10 })).map((r) => r.id)).toEqual([records[3]!.id]);
    });
  });

  describe('the lock', () => {
    it('refuses a second store on the same directory in this process until the first closes', async () => {
      const first = await openStore();
      const second = new FileAuditStore({ directory });
      const error = await second.init().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditError);
      expect((error as AuditError).code).toBe('KEEL_AUDIT_UNAVAILABLE');
      expect((error as AuditError).message).toContain(`in use by process ${process.pid}`);
      await first.close();
      open.push(second);
      await expect(second.init()).resolves.toBeUndefined();
    });

    it('refuses a directory locked by another live process', async () => {
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, '.lock'), String(process.ppid));
      const error = await new FileAuditStore({ directory }).init().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditError);
      expect((error as AuditError).message).toContain(`in use by process ${process.ppid}`);
      expect(readFileSync(join(directory, '.lock'), 'utf8')).toBe(String(process.ppid));
    });

    it('takes over a lock left by a dead process, or an unreadable one', async () => {
      mkdirSync(directory, { recursive: true });
      for (const stale of ['999999999', 'garbage', String(process.pid)]) {
        writeFileSync(join(directory, '.lock'), stale);
        const store = await openStore();
        expect(readFileSync(join(directory, '.lock'), 'utf8')).toBe(String(process.pid));
        await store.close();
      }
    });
  });

  it('fails to open when a file cannot be read (not a missing one)', async () => {
    mkdirSync(join(directory, 'checkpoints.ndjson'), { recursive: true });
    const store = new FileAuditStore({ directory });
    await expect(store.init()).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
