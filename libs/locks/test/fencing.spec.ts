import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  fencedUpdate,
  isFencedRowNotFoundError,
  isStaleFencingTokenError,
  LockService,
  MemoryLockStore,
} from '@keel/locks';
import { KeelArgumentError, KeelMetrics } from '@keel/core';
import { DataSource, EntitySchema } from 'typeorm';
import { databaseUrl, mariadbUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { SETTINGS } from './support.js';

interface Account {
  id: number;
  balance: number;
  fence: string | null;
}

interface Ledger {
  id: number;
  amount: number;
  /** Stored in a column named `order`, a reserved word: only real identifier escaping works. */
  lastFence: string | null;
}

/**
 * The same suite on PostgreSQL and on MariaDB (TypeORM's mysql driver). MySQL and MariaDB read a
 * double-quoted "fence" as a string literal, so a fence condition quoted for PostgreSQL was
 * always true there and a stale write went through.
 */
const DATABASES = [
  { name: 'PostgreSQL', type: 'postgres' as const, url: () => databaseUrl() },
  { name: 'MariaDB', type: 'mariadb' as const, url: () => mariadbUrl() },
];

describe.each(DATABASES)('fencedUpdate (TypeORM, $name)', ({ type, url }) => {
  const table = uniquePrefix('fenced-accounts').replace(/-/g, '_').toLowerCase();
  const ledgerTable = uniquePrefix('fenced-ledger').replace(/-/g, '_').toLowerCase();
  const Account = new EntitySchema<Account>({
    name: 'Account',
    tableName: table,
    columns: {
      id: { type: 'int', primary: true },
      balance: { type: 'int' },
      fence: { type: 'bigint', nullable: true },
    },
  });
  const LedgerEntity = new EntitySchema<Ledger>({
    name: 'Ledger',
    tableName: ledgerTable,
    columns: {
      id: { type: 'int', primary: true },
      amount: { type: 'int' },
      lastFence: { type: 'bigint', nullable: true, name: 'order' },
    },
  });
  let db: DataSource;

  beforeAll(async () => {
    db = new DataSource({ type, url: url(), entities: [Account, LedgerEntity] });
    await db.initialize();
    const q = (name: string) => db.driver.escape(name);
    await db.query(
      `CREATE TABLE ${q(table)} (id int PRIMARY KEY, balance int NOT NULL, fence bigint)`,
    );
    await db.query(
      `CREATE TABLE ${q(ledgerTable)} (id int PRIMARY KEY, amount int NOT NULL, ${q('order')} bigint)`,
    );
    await db.getRepository(Account).insert([
      { id: 1, balance: 100 },
      { id: 2, balance: 100 },
      { id: 3, balance: 100 },
    ]);
    await db.getRepository(LedgerEntity).insert({ id: 1, amount: 0 });
  });
  afterAll(async () => {
    if (!db?.isInitialized) return;
    await db.query(`DROP TABLE IF EXISTS ${db.driver.escape(table)}`);
    await db.query(`DROP TABLE IF EXISTS ${db.driver.escape(ledgerTable)}`);
    await db.destroy();
  });

  const row = async (id: number) => {
    const found = await db.getRepository(Account).findOneByOrFail({ id });
    return { balance: found.balance, fence: found.fence === null ? null : String(found.fence) };
  };

  it('writes with a newer token and stamps the row with it', async () => {
    expect(
      await fencedUpdate(db.manager, Account, { id: 1 }, { balance: 90 }, 1_763_000_000_000_001),
    ).toBe(1);
    expect(await row(1)).toEqual({ balance: 90, fence: '1763000000000001' });
  });

  it('rejects an older or equal token and leaves the row alone', async () => {
    for (const token of [1, 1_763_000_000_000_000, 1_763_000_000_000_001]) {
      const error = await fencedUpdate(db.manager, Account, { id: 1 }, { balance: 0 }, token).catch(
        (e: unknown) => e,
      );
      expect(isStaleFencingTokenError(error)).toBe(true);
      expect((error as Error).message).toContain(`fencing token ${token}`);
    }
    expect(await row(1)).toEqual({ balance: 90, fence: '1763000000000001' });
  });

  it('works through a Repository too', async () => {
    const accounts = db.getRepository(Account);
    await fencedUpdate(accounts, Account, { id: 2 }, { balance: 50 }, 5);
    await expect(fencedUpdate(accounts, Account, { id: 2 }, { balance: 1 }, 4)).rejects.toThrow(
      /rejected/,
    );
    expect(await row(2)).toEqual({ balance: 50, fence: '5' });
  });

  it('tells a row that does not exist from a stale token', async () => {
    const error = await fencedUpdate(db.manager, Account, { id: 404 }, { balance: 1 }, 9).catch(
      (e: unknown) => e,
    );
    expect(isFencedRowNotFoundError(error)).toBe(true);
    expect(isStaleFencingTokenError(error)).toBe(false);
    expect((error as Error).message).toMatch(/no Account row matches \{"id":404\}/);
    const repository = db.getRepository(Account);
    await expect(
      fencedUpdate(repository, Account, { id: 405 }, { balance: 1 }, 9),
    ).rejects.toMatchObject({ code: 'KEEL_LOCK_FENCED_ROW_NOT_FOUND' });
  });

  it('rejects the late write of a holder whose lock passed on', async () => {
    const locks = new LockService(new MemoryLockStore(), SETTINGS, new KeelMetrics());
    try {
      const paused = await locks.acquire('account:3', { ttlMs: 50 });
      await waitFor(() => paused.signal.aborted, { message: 'the first hold to lapse' });
      await locks.using('account:3', (lock) =>
        fencedUpdate(db.manager, Account, { id: 3 }, { balance: 70 }, lock.fencingToken),
      );
      // The first holder resumes and writes with its old token: the database refuses it.
      await expect(
        fencedUpdate(db.manager, Account, { id: 3 }, { balance: 0 }, paused.fencingToken),
      ).rejects.toMatchObject({ code: 'KEEL_LOCK_STALE_FENCING_TOKEN' });
      expect((await row(3)).balance).toBe(70);
    } finally {
      await locks.beforeApplicationShutdown();
    }
  });

  it('escapes the column through the driver and maps the property to its column name', async () => {
    const options = { column: 'lastFence' };
    expect(
      await fencedUpdate(db.manager, LedgerEntity, { id: 1 }, { amount: 5 }, 20, options),
    ).toBe(1);
    await expect(
      fencedUpdate(db.manager, LedgerEntity, { id: 1 }, { amount: 6 }, 19, options),
    ).rejects.toMatchObject({ code: 'KEEL_LOCK_STALE_FENCING_TOKEN' });
    const ledger = await db.getRepository(LedgerEntity).findOneByOrFail({ id: 1 });
    expect({ amount: ledger.amount, lastFence: String(ledger.lastFence) }).toEqual({
      amount: 5,
      lastFence: '20',
    });
  });

  it('refuses a fence column that is not a column of the entity', async () => {
    for (const column of ['fence; DROP', 'nope']) {
      const error = await fencedUpdate(db.manager, Account, { id: 2 }, { balance: 1 }, 9, {
        column,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeelArgumentError);
      expect((error as Error).message).toContain(`'${column}' is not a column of Account`);
    }
    expect(await row(2)).toEqual({ balance: 50, fence: '5' });
  });
});
