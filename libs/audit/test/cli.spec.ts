import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  CheckpointSigner,
  FileAuditStore,
  PostgresAuditStore,
  type AuditStore,
  type AuditVerifyReport,
} from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import { dropTables, preparedEvent, uniqueTablePrefix } from './support.js';

/** The built command, as `npx keel-audit` runs it (`npm test` builds first). */
const CLI = join(process.cwd(), 'libs/audit/dist/cli/keel-audit.js');
const HMAC_KEY = 'cli-test-hmac-secret-of-32-characters';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function keelAudit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      // Only what the test gives: no DATABASE_URL or key leaks in from the test environment.
      { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
}

/** Two chains of 30 events each, with a signed checkpoint over both. */
async function seed(store: AuditStore, signer: CheckpointSigner): Promise<void> {
  for (const chain of ['shard-0', 'shard-1']) {
    await store.append(Array.from({ length: 30 }, () => preparedEvent({ chain })));
  }
  for (const head of await store.heads()) {
    await store.appendCheckpoint(
      signer.sign({
        chain: head.chain,
        fromSeq: 1,
        toSeq: head.seq,
        count: head.seq,
        lastHash: head.hash,
        createdAt: new Date().toISOString(),
        reason: 'interval',
        previousSignature: '',
      }),
    );
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('keel-audit verify on PostgreSQL', () => {
  it('exits 0 on an intact trail, and 1 naming the first bad event after an UPDATE', async () => {
    const prefix = uniqueTablePrefix();
    cleanups.push(() => dropTables(prefix));
    const store = new PostgresAuditStore({ url: databaseUrl(), tablePrefix: prefix });
    await store.init();
    await seed(store, new CheckpointSigner('default', { privateKey: HMAC_KEY }));
    await store.close();
    const env = { DATABASE_URL: databaseUrl(), KEEL_AUDIT_CHECKPOINTS_KEY: HMAC_KEY };
    const args = ['verify', '--table-prefix', prefix];

    const intact = await keelAudit(args, env);
    expect(intact).toMatchObject({ code: 0, stderr: '' });
    expect(intact.stdout).toContain('shard-0: 30 events, 1 checkpoints: ok');
    expect(intact.stdout).toContain('verified: 2 chains intact');

    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    await client.query(
      `UPDATE ${prefix}_events SET actor = 'mallory' WHERE chain = 'shard-1' AND seq = 17`,
    );
    await client.end();
    const broken = await keelAudit(args, env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(
      /shard-1: \d+ events, 1 checkpoints: BROKEN at seq 17 .*hash-mismatch/,
    );
    expect(broken.stdout).toContain('BROKEN: 1 of 2 chains');
    const json = JSON.parse(
      (await keelAudit([...args, '--json'], env)).stdout,
    ) as AuditVerifyReport;
    expect(json.ok).toBe(false);
    expect(json.chains[1]!.firstBad).toMatchObject({ seq: 17, reason: 'hash-mismatch' });

    // A wrong secret: the checkpoints' signatures fail.
    const forged = await keelAudit(args, { ...env, KEEL_AUDIT_CHECKPOINTS_KEY: 'x'.repeat(32) });
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/shard-0: .*bad-signature/);
  });

  it('exits 3 when the store cannot be read, with the reason', async () => {
    const missing = await keelAudit(['verify', '--table-prefix', 'keel_no_such_prefix'], {
      DATABASE_URL: databaseUrl(),
    });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/does not exist \(is --table-prefix right\?\)/);
  });
});

describe('keel-audit verify on the file store', () => {
  it('verifies Ed25519 checkpoints with the public key alone, and rejects another key', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-cli-'));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const store = new FileAuditStore({ directory: join(directory, 'audit') });
    await store.init();
    await seed(store, new CheckpointSigner('k1', { privateKey: pem }));
    await store.close();

    const publicKey = join(directory, 'public.pem');
    writeFileSync(publicKey, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
    const args = ['verify', '--dir', join(directory, 'audit'), '--key-id', 'k1'];
    const ok = await keelAudit([...args, '--public-key', publicKey]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain('verified: 2 chains intact');
    expect(ok.stdout).not.toContain('not checked');

    const otherKey = join(directory, 'other.pem');
    const { publicKey: another } = generateKeyPairSync('ed25519');
    writeFileSync(otherKey, another.export({ type: 'spki', format: 'pem' }));
    const wrong = await keelAudit([...args, '--public-key', otherKey]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/bad-signature/);

    const unsigned = await keelAudit(args);
    expect(unsigned.code).toBe(0);
    expect(unsigned.stdout).toContain('checkpoint signatures not checked');
  });
});

describe('keel-audit usage', () => {
  it('explains itself, and exits 2 on bad usage naming the problem', async () => {
    expect(await keelAudit(['--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^usage: keel-audit verify/) as unknown as string,
    });
    expect(await keelAudit([])).toMatchObject({ code: 2 });
    const unknown = await keelAudit(['verfy']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown command 'verfy'/) as unknown as string,
    });
    const noStore = await keelAudit(['verify']);
    expect(noStore).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no store: give --database-url/) as unknown as string,
    });
    const badFlag = await keelAudit(['verify', '--dir', '/tmp', '--bogus']);
    expect(badFlag).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--bogus/) as unknown as string,
    });
    const noDir = await keelAudit(['verify', '--dir', '/nonexistent/keel']);
    expect(noDir).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/does not exist/) as unknown as string,
    });
  });
});
