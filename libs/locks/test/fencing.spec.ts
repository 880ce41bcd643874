import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fencedUpdate, isStaleFencingTokenError } from '@keel/locks';
import { DataSource, EntitySchema } from 'typeorm';
import { databaseUrl, uniquePrefix } from '../../../test/support/services.js';

interface Account {
  id: number;
  balance: number;
  fence: string | null;
}

describe('fencedUpdate (TypeORM, PostgreSQL)', () => {
  const table = uniquePrefix('fenced-accounts').replace(/-/g, '_').toLowerCase();
  const Account = new EntitySchema<Account>({
    name: 'Account',
    tableName: table,
    columns: {
      id: { type: 'int', primary: true },
      balance: { type: 'int' },
      fence: { type: 'bigint', nullable: true },
    },
  });
  let db: DataSource;

  beforeAll(async () => {
    db = new DataSource({ type: 'postgres', url: databaseUrl(), entities: [Account] });
    await db.initialize();
    await db.query(
      `CREATE TABLE ${table} (id int PRIMARY KEY, balance int NOT NULL, fence bigint)`,
    );
    await db.query(`INSERT INTO ${table} (id, balance) VALUES (1, 100), (2, 100)`);
  });
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.destroy();
  });

  const row = async (id: number) =>
    (await db.query(`SELECT balance, fence FROM ${table} WHERE id = $1`, [id]))[0] as {
      balance: number;
      fence: string;
    };

  it('writes with a newer token and stamps the row with it', async () => {
    expect(
      await fencedUpdate(db.manager, Account, { id: 1 }, { balance: 90 }, 1_763_000_000_000_001),
    ).toBe(1);
    expect(await row(1)).toEqual({ balance: 90, fence: '1763000000000001' });
  });

  it('rejects an older or equal token and leaves the row alone', async () => {
    for (const token of [1_763_000_000_000_000, 1_763_000_000_000_001]) {
      const error = await fencedUpdate(db.manager, Account, { id: 1 }, { balance: 0 }, token).catch(
        (e: unknown) => e,
      );
      expect(isStaleFencingTokenError(error)).toBe(true);
      expect((error as Error).message).toContain(`fencing token ${token}`);
    }
    expect((await row(1)).balance).toBe(90);
  });

  it('works through a Repository too', async () => {
    const accounts = db.getRepository(Account);
    await fencedUpdate(accounts, Account, { id: 2 }, { balance: 50 }, 5);
    await expect(fencedUpdate(accounts, Account, { id: 2 }, { balance: 1 }, 4)).rejects.toThrow(
      /rejected/,
    );
    expect((await row(2)).balance).toBe(50);
  });

  it('refuses a fence column that is not a plain identifier', async () => {
    await expect(
      fencedUpdate(db.manager, Account, { id: 2 }, { balance: 1 }, 9, { column: 'fence; DROP' }),
    ).rejects.toThrow(/not a plain identifier/);
  });
});
