import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import {
  AuditVerifier,
  CheckpointSigner,
  type AuditStore,
  type PostgresAuditStore,
} from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { fileStoreImplementation, postgresStoreImplementation, preparedEvent } from './support.js';

const HMAC = new CheckpointSigner('k1', { privateKey: 'a-checkpoint-secret-of-32-characters!!' });

/** Writes 20 events on one chain with a signed checkpoint after each 10. */
async function seed(store: AuditStore, signer = HMAC): Promise<void> {
  let previous = '';
  for (let round = 0; round < 2; round++) {
    const records = await store.append(
      Array.from({ length: 10 }, () => preparedEvent({ chain: 'c' })),
    );
    const last = records.at(-1)!;
    const checkpoint = signer.sign({
      chain: 'c',
      fromSeq: round * 10 + 1,
      toSeq: last.seq,
      count: 10,
      lastHash: last.hash,
      createdAt: new Date().toISOString(),
      reason: 'interval',
      previousSignature: previous,
    });
    previous = checkpoint.signature;
    await store.appendCheckpoint(checkpoint);
  }
}

async function sql(store: AuditStore, text: string): Promise<void> {
  const events = (store as PostgresAuditStore).tableNames().events;
  const heads = (store as PostgresAuditStore).tableNames().heads;
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query(text.replaceAll('$events', events).replaceAll('$heads', heads));
  } finally {
    await client.end();
  }
}

const firstBad = async (store: AuditStore, signer = HMAC) =>
  (await new AuditVerifier(store, signer).verify()).chains[0]?.firstBad;

describeStoreContract(
  'AuditVerifier',
  [fileStoreImplementation, postgresStoreImplementation],
  (store) => {
    it('passes an untouched store, with Ed25519 checkpoints too', async () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      const ed = new CheckpointSigner('ed', {
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
      await seed(store(), ed);
      const report = await new AuditVerifier(store(), ed).verify();
      expect(report).toEqual({ ok: true, chains: [{ chain: 'c', checked: 20, checkpoints: 2 }] });
    });

    it('finds a checkpoint signed by another key', async () => {
      await seed(store());
      const other = new CheckpointSigner('k1', {
        privateKey: 'another-secret-of-at-least-32-characters',
      });
      expect(await firstBad(store(), other)).toMatchObject({ seq: 10, reason: 'bad-signature' });
    });
  },
);

describe('AuditVerifier on tampered PostgreSQL rows', () => {
  async function tampered(statement: string) {
    const store = await postgresStoreImplementation.create();
    try {
      await seed(store);
      await sql(store, statement);
      return await firstBad(store);
    } finally {
      await postgresStoreImplementation.destroy!(store);
    }
  }

  it('names an UPDATEd row as hash-mismatch at its seq', async () => {
    expect(
      await tampered(`UPDATE $events SET data = '{"amount": 1000}' WHERE seq = 7`),
    ).toMatchObject({ seq: 7, reason: 'hash-mismatch' });
  });

  it('names a DELETEd row as missing at its seq', async () => {
    expect(await tampered('DELETE FROM $events WHERE seq = 5')).toMatchObject({
      seq: 5,
      reason: 'missing',
    });
  });

  it('names an INSERTed forged row (a copy of seq 12 with another actor)', async () => {
    const found = await tampered(
      `INSERT INTO $events SELECT gen_random_uuid(), chain, seq, occurred_at, service, category, level, action, outcome,
        error_code, 'forger', tenant, ip, user_agent, correlation_id, resource_type, resource_id, subject, tags,
        duration_ms, data, prev_hash, hash FROM $events WHERE seq = 12`,
    );
    expect(found?.seq).toBe(12);
    expect(['duplicate-seq', 'hash-mismatch']).toContain(found?.reason);
  });

  it('names a dropped tail (the heads row moved back to match) as truncated', async () => {
    expect(
      await tampered(
        `DELETE FROM $events WHERE seq > 15; UPDATE $heads SET seq = 15, hash = (SELECT hash FROM $events WHERE seq = 15)`,
      ),
    ).toMatchObject({ seq: 16, reason: 'truncated' });
  });

  it('names a deleted checkpoint as a broken checkpoint chain', async () => {
    const store = await postgresStoreImplementation.create();
    try {
      await seed(store);
      const checkpoints = `${(store as PostgresAuditStore).tableNames().checkpoints}`;
      await sql(store, `DELETE FROM ${checkpoints} WHERE to_seq = 10`);
      expect(await firstBad(store)).toMatchObject({ seq: 20, reason: 'checkpoint-chain-broken' });
    } finally {
      await postgresStoreImplementation.destroy!(store);
    }
  });
});

describe('AuditIntegrityService in an application', () => {
  it('writes a signed checkpoint at shutdown, after the writer drained, that verify accepts', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Test } = await import('@nestjs/testing');
    const { KeelCoreModule, loadKeelConfig } = await import('@keel/core');
    const { AuditModule, AuditService, AuditIntegrityService, FileAuditStore } =
      await import('@keel/audit');
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-cp-'));
    const file = join(directory, 'checkpoints-copy.ndjson');
    const key = 'a-checkpoint-secret-of-32-characters!!';
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        AuditModule.forRoot({
          store: { type: 'file', directory },
          checkpoints: { key, keyId: 'k1', file },
          // No hour is off-hours: the chain's length must not depend on when the suite runs.
          anomalies: { offHours: { startHour: 0, endHour: 24, weekends: false } },
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const audit = app.get(AuditService);
    for (let i = 0; i < 3; i++)
      await audit.record({ action: 'order.create', category: 'DATA_CHANGE' });
    const integrity = app.get(AuditIntegrityService);
    await app.close();
    const store = new FileAuditStore({ directory });
    await store.init();
    try {
      const checkpoints = await store.checkpoints();
      expect(checkpoints.map((c) => [c.reason, c.toSeq, c.count])).toEqual([['shutdown', 3, 3]]);
      expect(readFileSync(file, 'utf8').trim()).toBe(JSON.stringify(checkpoints[0]));
      const report = await new AuditVerifier(
        store,
        new CheckpointSigner('k1', { privateKey: key }),
      ).verify();
      expect(report.ok).toBe(true);
      expect(integrity).toBeInstanceOf(AuditIntegrityService);
    } finally {
      await store.close();
    }
  });
});
