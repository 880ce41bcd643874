import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AuditChainHead, AuditCheckpoint, AuditRecord } from '../audit-event.js';
import { newEventId } from '../event-id.js';
import type { AuditStore } from '../stores/audit.store.js';
import { FileAuditStore } from '../stores/file-audit.store.js';
import { AuditVerifier } from './audit-verifier.js';
import { CheckpointSigner } from './checkpoint-signer.js';
import { preparedEventFactory } from '../../test/events.js';

const preparedEvent = preparedEventFactory(Date.UTC(2026, 11, 2, 10, 0, 0), 1, { chain: 'c' });

const HMAC = new CheckpointSigner('k1', { privateKey: 'a-checkpoint-secret-of-32-characters!!' });
const EVENTS_FILE = 'events-2026-12.ndjson';

describe('AuditVerifier (on the file store)', () => {
  let directory: string;
  let store: FileAuditStore;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keel-audit-verify-'));
    store = new FileAuditStore({ directory });
    await store.init();
  });

  afterEach(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Writes 20 events on chain `c` with a signed checkpoint after each 10. */
  async function seed(signer = HMAC): Promise<AuditRecord[]> {
    let previous = '';
    const all: AuditRecord[] = [];
    for (let round = 0; round < 2; round++) {
      const records = await store.append(Array.from({ length: 10 }, () => preparedEvent()));
      all.push(...records);
      const last = records.at(-1)!;
      const checkpoint = signer.sign({
        chain: 'c',
        fromSeq: round * 10 + 1,
        toSeq: last.seq,
        count: 10,
        lastHash: last.hash,
        createdAt: last.occurredAt,
        reason: 'interval',
        previousSignature: previous,
      });
      previous = checkpoint.signature;
      await store.appendCheckpoint(checkpoint);
    }
    return all;
  }

  /** Rewrites one NDJSON file of the store (closed meanwhile), then reopens the store. */
  async function tamper(
    name: string,
    edit: (lines: Record<string, unknown>[]) => Record<string, unknown>[],
  ): Promise<void> {
    await store.close();
    const path = join(directory, name);
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    writeFileSync(
      path,
      edit(lines)
        .map((l) => JSON.stringify(l) + '\n')
        .join(''),
    );
    store = new FileAuditStore({ directory });
    await store.init();
  }

  const verify = (signer: CheckpointSigner | undefined = HMAC) =>
    new AuditVerifier(store, signer).verify();
  const firstBad = async (signer: CheckpointSigner | undefined = HMAC) =>
    (await verify(signer)).chains[0]?.firstBad;

  it('passes an untouched store, with or without a signer', async () => {
    await seed();
    const expected = { ok: true, chains: [{ chain: 'c', checked: 20, checkpoints: 2 }] };
    expect(await verify()).toEqual(expected);
    expect(await verify(undefined)).toEqual(expected);
  });

  it('passes an empty store', async () => {
    expect(await verify()).toEqual({ ok: true, chains: [] });
  });

  it('passes Ed25519 checkpoints, checked with the public key only', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = new CheckpointSigner('ed', {
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    await seed(signer);
    const verifier = new CheckpointSigner('ed', {
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    expect((await verify(verifier)).ok).toBe(true);
  });

  it('verifies every chain, sorted by name, or only the one asked for', async () => {
    await store.append([
      preparedEvent({ chain: 'zeta' }),
      preparedEvent({ chain: 'alpha' }),
      preparedEvent({ chain: 'zeta' }),
    ]);
    expect(await verify()).toEqual({
      ok: true,
      chains: [
        { chain: 'alpha', checked: 1, checkpoints: 0 },
        { chain: 'zeta', checked: 2, checkpoints: 0 },
      ],
    });
    expect(await new AuditVerifier(store).verify({ chain: 'zeta' })).toEqual({
      ok: true,
      chains: [{ chain: 'zeta', checked: 2, checkpoints: 0 }],
    });
  });

  it('walks chains longer than one page (5 000 events)', async () => {
    await store.append(Array.from({ length: 5_003 }, () => preparedEvent()));
    expect(await verify()).toEqual({
      ok: true,
      chains: [{ chain: 'c', checked: 5_003, checkpoints: 0 }],
    });
  });

  it('names an altered field as hash-mismatch at its seq', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) =>
      lines.map((l) => (l['seq'] === 7 ? { ...l, data: { amount: 1000 } } : l)),
    );
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.chains[0]!.firstBad).toEqual({
      seq: 7,
      id: expect.any(String),
      reason: 'hash-mismatch',
      detail: 'the event no longer matches its hash (altered)',
    });
    expect(report.chains[0]!.checked).toBe(7);
  });

  it('names a deleted event as missing at its seq', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) => lines.filter((l) => l['seq'] !== 5));
    expect(await firstBad()).toEqual({
      seq: 5,
      reason: 'missing',
      detail: 'seq 5 is missing (next found: 6)',
    });
  });

  it('names a copy of an event as duplicate-seq', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) => {
      const twelve = lines.find((l) => l['seq'] === 12)!;
      return [...lines, { ...twelve, id: newEventId(), actor: 'forger' }];
    });
    expect(await firstBad()).toMatchObject({ seq: 12, reason: 'duplicate-seq' });
  });

  it('names a re-linked event whose prevHash no longer matches as prev-mismatch', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) =>
      lines.map((l) => (l['seq'] === 3 ? { ...l, prevHash: 'f'.repeat(64) } : l)),
    );
    expect(await firstBad()).toMatchObject({
      seq: 3,
      reason: 'prev-mismatch',
      detail: 'prevHash does not match the hash of seq 2',
    });
  });

  it('names a first event that does not start from the genesis hash', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) =>
      lines.map((l) => (l['seq'] === 1 ? { ...l, prevHash: '1'.repeat(64) } : l)),
    );
    expect(await firstBad()).toMatchObject({
      seq: 1,
      reason: 'prev-mismatch',
      detail: 'seq 1 does not start from the genesis hash',
    });
  });

  it('names a chain whose start was removed without a purge anchor as unanchored-start', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) => lines.filter((l) => (l['seq'] as number) > 3));
    expect(await firstBad()).toMatchObject({ seq: 4, reason: 'unanchored-start' });
  });

  it('names a dropped tail that a checkpoint covers as truncated', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) => lines.filter((l) => (l['seq'] as number) <= 15));
    expect(await firstBad()).toEqual({
      seq: 16,
      reason: 'truncated',
      detail: 'a checkpoint covers seq 20, the chain ends at 15',
    });
  });

  it('names a checkpoint that signed another hash', async () => {
    await seed();
    await tamper('checkpoints.ndjson', (lines) =>
      lines.map((l, i) => (i === 0 ? { ...l, lastHash: 'e'.repeat(64) } : l)),
    );
    // Without a signer only the hash is compared; with one, the signature fails too (same seq).
    expect(await firstBad(undefined)).toMatchObject({
      seq: 10,
      reason: 'hash-mismatch',
      detail: 'checkpoint to seq 10 signed another hash',
    });
  });

  it('names a checkpoint signed by another key as bad-signature', async () => {
    await seed();
    const other = new CheckpointSigner('k1', {
      privateKey: 'another-secret-of-at-least-32-characters',
    });
    expect(await firstBad(other)).toEqual({
      seq: 10,
      reason: 'bad-signature',
      detail: 'the checkpoint to seq 10 is not signed by key k1',
    });
  });

  it('names a deleted checkpoint as a broken checkpoint chain', async () => {
    await seed();
    await tamper('checkpoints.ndjson', (lines) => lines.slice(1));
    expect(await firstBad()).toEqual({
      seq: 20,
      reason: 'checkpoint-chain-broken',
      detail: 'a checkpoint before seq 20 is missing',
    });
  });

  it('reports the earliest break of a chain when there are several', async () => {
    await seed();
    await tamper(EVENTS_FILE, (lines) =>
      lines
        .filter((l) => (l['seq'] as number) <= 15)
        .map((l) => (l['seq'] === 4 ? { ...l, actor: 'mallory' } : l)),
    );
    expect(await firstBad()).toMatchObject({ seq: 4, reason: 'hash-mismatch' });
  });

  it('reports each chain on its own: one broken chain does not hide a sound one', async () => {
    await seed();
    await store.append([preparedEvent({ chain: 'other' })]);
    await tamper(EVENTS_FILE, (lines) =>
      lines.map((l) => (l['chain'] === 'c' && l['seq'] === 2 ? { ...l, action: 'x' } : l)),
    );
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.chains.map((c) => [c.chain, c.firstBad?.reason])).toEqual([
      ['c', 'hash-mismatch'],
      ['other', undefined],
    ]);
  });

  describe('after a purge', () => {
    /** Events in November (seq 1–3) and December (seq 4–6) of chain `c`. */
    async function twoMonths(): Promise<AuditRecord[]> {
      const months = ['2026-11-20T00:00:00.00', '2026-12-05T00:00:00.00'];
      return store.append(
        months.flatMap((month) =>
          [1, 2, 3].map((i) => preparedEvent({ occurredAt: `${month}${i}Z` })),
        ),
      );
    }

    async function purgeNovember(anchor: Partial<AuditCheckpoint> = {}): Promise<void> {
      const [november] = await store.partitions();
      const [last] = await store.lastInPartition(november!);
      await store.appendCheckpoint(
        HMAC.sign({
          chain: 'c',
          fromSeq: 1,
          toSeq: last!.seq,
          count: last!.seq,
          lastHash: last!.hash,
          createdAt: '2026-12-10T00:00:00.000Z',
          reason: 'purge-anchor',
          previousSignature: '',
          ...anchor,
        }),
      );
      await store.dropPartition(november!);
    }

    it('resumes after the purge anchor', async () => {
      await twoMonths();
      await purgeNovember();
      expect(await verify()).toEqual({
        ok: true,
        chains: [{ chain: 'c', checked: 3, checkpoints: 1 }],
      });
    });

    it('reports a chain that does not continue from the hash the anchor signed', async () => {
      await twoMonths();
      await purgeNovember({ lastHash: '9'.repeat(64) });
      expect(await firstBad()).toMatchObject({
        seq: 4,
        reason: 'prev-mismatch',
        detail: 'seq 4 does not continue from the hash its purge anchor signed',
      });
    });

    it('reports the first event after the anchor missing', async () => {
      await twoMonths();
      await purgeNovember();
      await tamper(EVENTS_FILE, (lines) => lines.filter((l) => l['seq'] !== 4));
      expect(await firstBad()).toEqual({
        seq: 4,
        reason: 'missing',
        detail: 'seq 4, the first after the purge anchor, is missing (next found: 5)',
      });
    });

    it('lists a chain known only from its checkpoints, its head kept by the purge anchor', async () => {
      const [only] = await store.append([
        preparedEvent({ occurredAt: '2026-11-20T00:00:00.000Z' }),
      ]);
      await purgeNovember();
      expect(await store.heads()).toEqual([{ chain: 'c', seq: 1, hash: only!.hash }]);
      expect(await verify()).toEqual({
        ok: true,
        chains: [{ chain: 'c', checked: 0, checkpoints: 1 }],
      });
    });
  });

  it('compares the end of the chain with the head the store keeps', async () => {
    const records = await store.append([preparedEvent(), preparedEvent(), preparedEvent()]);
    // A store whose heads table says more than its events hold (rows removed with the head).
    const ahead: AuditStore = Object.assign(Object.create(store) as AuditStore, {
      heads: async (): Promise<AuditChainHead[]> => [{ chain: 'c', seq: 5, hash: 'x' }],
    });
    expect((await new AuditVerifier(ahead).verify()).chains[0]!.firstBad).toEqual({
      seq: 4,
      reason: 'head-mismatch',
      detail: 'the head says seq 5, the chain ends at 3',
    });
    const behind: AuditStore = Object.assign(Object.create(store) as AuditStore, {
      heads: async (): Promise<AuditChainHead[]> => [
        { chain: 'c', seq: 1, hash: records[0]!.hash },
      ],
    });
    expect((await new AuditVerifier(behind).verify()).chains[0]!.firstBad).toMatchObject({
      seq: 2,
      reason: 'head-mismatch',
    });
  });
});
