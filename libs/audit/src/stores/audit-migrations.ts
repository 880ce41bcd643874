import { KeelConfigError } from '@keel/core';
import { auditTables, hardeningStatements, schemaStatements } from './postgres-audit.sql.js';

/**
 * What a migration runs its SQL through: TypeORM's `QueryRunner`, typed by the one method used
 * (typeorm is an optional peer, never named in these declarations).
 * @publicApi
 */
export interface AuditMigrationRunner {
  query(sql: string): Promise<unknown>;
}

/** A TypeORM migration (`MigrationInterface` by shape). @publicApi */
export interface AuditMigration {
  /** Unique per table prefix, ending in the 13-digit timestamp TypeORM orders migrations by. */
  readonly name: string;
  up(runner: AuditMigrationRunner): Promise<void>;
  down(runner: AuditMigrationRunner): Promise<void>;
}

/** A migration class, as TypeORM's `migrations` option takes it. @publicApi */
export type AuditMigrationClass = new () => AuditMigration;

/** Options of {@link auditMigrations}. @publicApi */
export interface AuditMigrationOptions {
  /** The store's `tablePrefix`. @default 'keel_audit' */
  readonly tablePrefix?: string;
  /** Also the append-only trigger and the INSERT/SELECT role. @default false */
  readonly hardening?: boolean;
}

/** 2026-12-01T00:00:00Z: when the schema was first shipped; orders it among the app's migrations. */
const SCHEMA_AT = 1_796_083_200_000;
const HARDENING_AT = SCHEMA_AT + 1;

/**
 * The audit store's schema as TypeORM migrations, for teams whose DDL goes through migrations:
 * the same statements `PostgresAuditStore.init()` runs idempotently (so an application may run
 * both), and, with `hardening`, a trigger that rejects UPDATE and DELETE on the events table and
 * the role `<prefix>_writer` allowed INSERT and SELECT only.
 *
 * @example
 * ```ts
 * new DataSource({ type: 'postgres', url, migrations: [...auditMigrations({ hardening: true }), ...mine] });
 * ```
 * @publicApi
 */
export function auditMigrations(options: AuditMigrationOptions = {}): AuditMigrationClass[] {
  const prefix = options.tablePrefix ?? 'keel_audit';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new KeelConfigError([
      `auditMigrations: tablePrefix must be a lowercase SQL identifier (got '${prefix}')`,
    ]);
  }
  const t = auditTables(prefix);
  const schema = migration(`KeelAuditSchema_${prefix}_${SCHEMA_AT}`, {
    up: schemaStatements(prefix),
    down: [t.checkpoints, t.pending, t.heads, t.events].map(
      (table) => `DROP TABLE IF EXISTS ${table} CASCADE`,
    ),
  });
  if (options.hardening !== true) return [schema];
  const writer = `${prefix}_writer`;
  const hardening = migration(`KeelAuditHardening_${prefix}_${HARDENING_AT}`, {
    up: hardeningStatements(prefix),
    down: [
      `DROP TRIGGER IF EXISTS ${prefix}_append_only ON ${t.events}`,
      `DROP FUNCTION IF EXISTS ${prefix}_reject_change()`,
      `DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${writer}') THEN
          EXECUTE 'DROP OWNED BY ${writer}'; EXECUTE 'DROP ROLE ${writer}'; END IF; END $$`,
    ],
  });
  return [schema, hardening];
}

function migration(
  name: string,
  statements: { readonly up: readonly string[]; readonly down: readonly string[] },
): AuditMigrationClass {
  return class implements AuditMigration {
    readonly name = name;
    async up(runner: AuditMigrationRunner): Promise<void> {
      for (const sql of statements.up) await runner.query(sql);
    }
    async down(runner: AuditMigrationRunner): Promise<void> {
      for (const sql of statements.down) await runner.query(sql);
    }
  };
}
