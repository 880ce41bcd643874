import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  FileAuditStore,
  PostgresAuditStore,
  type AuditStore,
  type PreparedAuditEvent,
} from '@keel/audit';
import { databaseUrl } from '../../../test/support/services.js';
import type { StoreImplementation } from '../../../test/support/store-contract.js';
import { newEventId } from '../src/event-id.js';

/** A lowercase SQL identifier no other test uses: the table prefix of one test's store. */
export function uniqueTablePrefix(): string {
  return `ka_${process.pid}_${randomBytes(4).toString('hex')}`;
}

let clock = Date.UTC(2026, 11, 2, 10, 0, 0);

/** A prepared event with unique id and a strictly later time than the previous one. */
export function preparedEvent(overrides: Partial<PreparedAuditEvent> = {}): PreparedAuditEvent {
  clock += 1;
  return {
    id: newEventId(),
    chain: 'shard-0',
    occurredAt: new Date(clock).toISOString(),
    service: 'test',
    category: 'DATA_CHANGE',
    level: 'INFO',
    action: 'order.update',
    outcome: 'success',
    errorCode: null,
    actor: 'alice',
    tenant: 'acme',
    ip: '127.0.0.1',
    userAgent: 'jest',
    correlationId: 'c-1',
    resourceType: 'order',
    resourceId: 'o-1',
    subject: null,
    tags: [],
    durationMs: 1.5,
    data: { amount: 10 },
    ...overrides,
  };
}

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
