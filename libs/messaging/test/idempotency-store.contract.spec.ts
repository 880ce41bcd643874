import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { inboxTransaction } from '@keel/messaging';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { databaseUrl, redisUrl, uniquePrefix } from '../../../test/support/services.js';
import type { IdempotencyStore } from '../src/stores/idempotency.store.js';
import { MemoryIdempotencyStore } from '../src/stores/memory-idempotency.store.js';
import { PostgresInboxStore } from '../src/stores/postgres-inbox.store.js';
import { RedisIdempotencyStore } from '../src/stores/redis-idempotency.store.js';

let redis: Redis;
let dataSource: DataSource;
let admin: pg.Pool;
const tablePrefixes: string[] = [];

beforeAll(async () => {
  redis = new Redis(redisUrl());
  dataSource = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
  admin = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
});
afterAll(async () => {
  for (const prefix of tablePrefixes) await admin.query(`DROP TABLE IF EXISTS ${prefix}_inbox`);
  await admin.end();
  await dataSource.destroy();
  redis.disconnect();
});

const tablePrefix = () => {
  const prefix = uniquePrefix('inbox').replaceAll('-', '_').toLowerCase().slice(0, 40);
  tablePrefixes.push(prefix);
  return prefix;
};

interface Subject {
  readonly store: IdempotencyStore;
  /** Makes a key of this test. */
  readonly key: (name: string) => string;
}

const implementations = [
  {
    name: 'memory',
    create: (): Subject => ({ store: new MemoryIdempotencyStore(), key: (n: string) => n }),
  },
  {
    name: 'redis',
    create: (): Subject => {
      const prefix = `${uniquePrefix('idem')}:`;
      return {
        store: new RedisIdempotencyStore({
          client: redis,
          prefix,
          onCompleteFailed: () => undefined,
        }),
        key: (n: string) => n,
      };
    },
  },
  {
    name: 'postgres (url)',
    create: (): Subject => ({
      store: new PostgresInboxStore({ url: databaseUrl(), tablePrefix: tablePrefix() }),
      key: (n: string) => n,
    }),
    destroy: (subject: Subject) => subject.store.close(),
  },
  {
    name: 'postgres (TypeORM DataSource)',
    create: (): Subject => ({
      store: new PostgresInboxStore({
        dataSource: dataSource as never,
        tablePrefix: tablePrefix(),
      }),
      key: (n: string) => n,
    }),
  },
];

const req = (key: string, over: { ttlMs?: number; leaseMs?: number } = {}) => ({
  key,
  ttlMs: over.ttlMs ?? 60_000,
  leaseMs: over.leaseMs ?? 5_000,
});

describeStoreContract<Subject>('IdempotencyStore', implementations, (subject, impl) => {
  it('runs the first call of a key and skips the next ones', async () => {
    const { store, key } = subject();
    let runs = 0;
    const first = await store.run(req(key('a')), async () => ++runs);
    const second = await store.run(req(key('a')), async () => ++runs);
    expect(first).toEqual({ ran: true, value: 1 });
    expect(second).toEqual({ ran: false, state: 'done' });
    expect(await store.run(req(key('b')), async () => ++runs)).toEqual({ ran: true, value: 2 });
    expect(runs).toBe(2);
  });

  it('runs the body once for two concurrent calls of one key', async () => {
    const { store, key } = subject();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = store.run(req(key('c')), async () => {
      runs += 1;
      await gate;
      return 'first';
    });
    // Let the first call take the key before the duplicate arrives.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = store.run(req(key('c')), async () => {
      runs += 1;
      return 'second';
    });
    if (impl.name.startsWith('postgres')) {
      // The duplicate waits on the first one's row lock, then sees it committed.
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      expect(await first).toEqual({ ran: true, value: 'first' });
      expect(await second).toEqual({ ran: false, state: 'done' });
    } else {
      const refused = await second;
      expect(refused).toMatchObject({ ran: false, state: 'running' });
      expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
      release();
      expect(await first).toEqual({ ran: true, value: 'first' });
      expect(await store.run(req(key('c')), async () => 'third')).toEqual({
        ran: false,
        state: 'done',
      });
    }
    expect(runs).toBe(1);
  });

  it('leaves the key free when the body throws, so a redelivery runs it', async () => {
    const { store, key } = subject();
    await expect(
      store.run(req(key('d')), async () => {
        throw new Error('failed once');
      }),
    ).rejects.toThrow('failed once');
    expect(await store.run(req(key('d')), async () => 'again')).toEqual({
      ran: true,
      value: 'again',
    });
  });

  it('forgets a completed key after its retention, and prune() removes what expired', async () => {
    const { store, key } = subject();
    await store.run(req(key('e'), { ttlMs: 1_000 }), async () => 1);
    expect(await store.run(req(key('e'), { ttlMs: 1_000 }), async () => 2)).toEqual({
      ran: false,
      state: 'done',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await store.run(req(key('e')), async () => 3)).toEqual({ ran: true, value: 3 });
    await store.run(req(key('f'), { ttlMs: 50 }), async () => 1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const pruned = await store.prune();
    expect(pruned).toBe(impl.name === 'redis' ? 0 : 1); // Redis expires keys itself
  });

  if (impl.name.startsWith('postgres')) {
    it('commits the body’s writes with the key, and rolls both back together', async () => {
      const { store, key } = subject();
      const table = uniquePrefix('effects').replaceAll('-', '_').toLowerCase().slice(0, 40);
      await admin.query(`CREATE TABLE ${table} (v text)`);
      try {
        const write = (v: string) => async () => {
          const tx = inboxTransaction();
          expect(tx).toBeDefined();
          await tx!.query(`INSERT INTO ${table} (v) VALUES ($1)`, [v]);
          if (v === 'boom') throw new Error('after the write');
          return v;
        };
        await expect(store.run(req(key('g')), write('boom'))).rejects.toThrow('after the write');
        expect((await admin.query(`SELECT v FROM ${table}`)).rows).toEqual([]);
        await store.run(req(key('g')), write('kept'));
        await store.run(req(key('g')), write('duplicate'));
        expect((await admin.query(`SELECT v FROM ${table}`)).rows).toEqual([{ v: 'kept' }]);
        expect(inboxTransaction()).toBeUndefined();
      } finally {
        await admin.query(`DROP TABLE ${table}`);
      }
    });
  } else {
    it('lets a redelivery run once the lease of a crashed call has expired', async () => {
      const { store, key } = subject();
      // A call that never finishes (its process died): only its lease keeps the key.
      const backend = store as unknown as {
        claim(k: string, t: string, l: number): Promise<unknown>;
      };
      const full =
        impl.name === 'redis'
          ? `${(store as unknown as { prefix: string }).prefix}${key('h')}`
          : key('h');
      await backend.claim(full, 'dead-process', 1_000);
      expect(await store.run(req(key('h')), async () => 'too soon')).toMatchObject({
        ran: false,
        state: 'running',
      });
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await store.run(req(key('h')), async () => 'after lease')).toEqual({
        ran: true,
        value: 'after lease',
      });
    });
  }
});
