import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { FileAuditStore, PostgresAuditStore, type AuditStore } from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import type { StoreImplementation } from '../../../test/support/store-contract.js';

/** A lowercase SQL identifier no other test uses: the table prefix of one test's store. */
export function uniqueTablePrefix(): string {
  return `ka_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export { preparedEvent } from './events.js';

/** Drops every table of a prefix (a test's cleanup). */
export async function dropTables(prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    for (const table of ['events', 'heads', 'pending', 'checkpoints']) {
      await client.query(`DROP TABLE IF EXISTS ${prefix}_${table} CASCADE`);
    }
  } finally {
    await client.end();
  }
}

/** The file store, in a fresh temporary directory. */
export const fileStoreImplementation: StoreImplementation<AuditStore> = {
  name: 'file',
  async create() {
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-'));
    const store = new FileAuditStore({ directory });
    directories.set(store, directory);
    await store.init();
    return store;
  },
  async destroy(store) {
    await store.close();
    rmSync(directories.get(store)!, { recursive: true, force: true });
  },
};
const directories = new WeakMap<AuditStore, string>();

/** The PostgreSQL store, on its own table prefix in the shared test database. */
export const postgresStoreImplementation: StoreImplementation<AuditStore> = {
  name: 'postgres',
  async create() {
    const tablePrefix = uniqueTablePrefix();
    const store = new PostgresAuditStore({ url: databaseUrl(), tablePrefix });
    prefixes.set(store, tablePrefix);
    await store.init();
    return store;
  },
  async destroy(store) {
    await store.close();
    await dropTables(prefixes.get(store)!);
  },
};
const prefixes = new WeakMap<AuditStore, string>();
