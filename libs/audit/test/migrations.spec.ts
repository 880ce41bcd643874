import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { KeelConfigError, KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  AuditModule,
  AuditService,
  AuditVerifier,
  PostgresAuditStore,
  auditMigrations,
} from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import { dropTables, preparedEvent, uniqueTablePrefix } from './support.js';

describe('auditMigrations (TypeORM, real PostgreSQL)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function migrated(prefix: string, hardening: boolean): Promise<DataSource> {
    const dataSource = await new DataSource({
      type: 'postgres',
      url: databaseUrl(),
      migrations: auditMigrations({ tablePrefix: prefix, hardening }),
      migrationsTableName: `${prefix}_migrations`,
    }).initialize();
    cleanups.push(async () => {
      await dataSource.query(`DROP TABLE IF EXISTS ${prefix}_migrations`);
      await dataSource.destroy();
    });
    cleanups.push(() => dropTables(prefix));
    return dataSource;
  }

  it('creates the schema the store uses; the store then appends, queries and verifies on it', async () => {
    const prefix = uniqueTablePrefix();
    const dataSource = await migrated(prefix, false);
    const ran = await dataSource.runMigrations();
    expect(ran.map((m) => m.name)).toEqual([`KeelAuditSchema_${prefix}_1796083200000`]);
    const store = new PostgresAuditStore({ dataSource, tablePrefix: prefix });
    await store.init(); // idempotent on a migrated schema
    await store.append([preparedEvent(), preparedEvent()]);
    expect(await store.query({}, { limit: 10 })).toHaveLength(2);
    expect((await new AuditVerifier(store).verify()).ok).toBe(true);
    await store.close();
    // down() removes it all
    await dataSource.undoLastMigration();
    const left = (await dataSource.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE $1`,
      [`${prefix}\\_%`],
    )) as { n: number }[];
    expect(left[0]!.n).toBe(1); // only the migrations table itself
  });

  it('hardening: UPDATE and DELETE are rejected by the trigger, the writer role may only insert and read', async () => {
    const prefix = uniqueTablePrefix();
    const dataSource = await migrated(prefix, true);
    // The role is cluster-wide: never leave one behind.
    cleanups.push(() => dataSource.query(dropRole(prefix)));
    const ran = await dataSource.runMigrations();
    expect(ran.map((m) => m.name)).toEqual([
      `KeelAuditSchema_${prefix}_1796083200000`,
      `KeelAuditHardening_${prefix}_1796083200001`,
    ]);
    const store = new PostgresAuditStore({ dataSource, tablePrefix: prefix });
    await store.init();
    await store.append([preparedEvent({ actor: 'alice' }), preparedEvent({ actor: 'bob' })]);
    await expect(
      dataSource.query(`UPDATE ${prefix}_events SET actor = 'mallory' WHERE actor = 'alice'`),
    ).rejects.toThrow(/audit events are append-only \(UPDATE on .*events/);
    await expect(dataSource.query(`DELETE FROM ${prefix}_events`)).rejects.toThrow(
      /audit events are append-only \(DELETE on/,
    );
    const privileges = (await dataSource.query(
      `SELECT has_table_privilege($1, $2, 'INSERT') AS insert,
              has_table_privilege($1, $2, 'SELECT') AS select,
              has_table_privilege($1, $2, 'UPDATE') AS update,
              has_table_privilege($1, $2, 'DELETE') AS delete,
              has_table_privilege($1, $2, 'TRUNCATE') AS truncate`,
      [`${prefix}_writer`, `${prefix}_events`],
    )) as Record<string, boolean>[];
    expect(privileges[0]).toEqual({
      insert: true,
      select: true,
      update: false,
      delete: false,
      truncate: false,
    });
    // What the trigger does not stop — the table owner's TRUNCATE — the chain still reports.
    await dataSource.query(`TRUNCATE ${prefix}_events`);
    const report = await new AuditVerifier(store).verify();
    expect(report.ok).toBe(false);
    expect(report.chains[0]!.firstBad).toMatchObject({ reason: 'head-mismatch' });
    await store.close();
    await dataSource.undoLastMigration();
    const roles = (await dataSource.query(
      `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1`,
      [`${prefix}_writer`],
    )) as { n: number }[];
    expect(roles[0]!.n).toBe(0);
  });

  it("AuditModule's store: { type: 'postgres', hardening: true } hardens the schema at init, without migrations", async () => {
    const prefix = uniqueTablePrefix();
    const dataSource = await migrated(prefix, false);
    cleanups.push(() => dataSource.query(dropRole(prefix)));
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'orders',
          redis: false,
          config: loadKeelConfig({ env: {} }),
        }),
        AuditModule.forRoot({
          tablePrefix: prefix,
          store: { type: 'postgres', url: databaseUrl(), hardening: true },
          writer: { mode: 'sync' },
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    cleanups.push(() => app.close());
    await app.get(AuditService).record({ action: 'order.read', category: 'DATA_ACCESS' });
    await expect(dataSource.query(`DELETE FROM ${prefix}_events`)).rejects.toThrow(
      /audit events are append-only \(DELETE on/,
    );
    const roles = (await dataSource.query(
      `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1`,
      [`${prefix}_writer`],
    )) as { n: number }[];
    expect(roles[0]!.n).toBe(1);
  });

  it('refuses a table prefix that is not an SQL identifier', () => {
    expect(() => auditMigrations({ tablePrefix: 'drop table; --' })).toThrow(KeelConfigError);
  });
});

function dropRole(prefix: string): string {
  return `DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${prefix}_writer')
    THEN EXECUTE 'DROP OWNED BY ${prefix}_writer'; EXECUTE 'DROP ROLE ${prefix}_writer'; END IF; END $$`;
}
