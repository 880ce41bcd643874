/**
 * The SQL of the PostgreSQL audit store, as functions of the table prefix. One place for the
 * schema: `store.init()` runs it (idempotently) and the shipped TypeORM migration runs the same
 * statements.
 */

/** The table and index names of one prefix. @internal */
export interface AuditTables {
  readonly events: string;
  readonly heads: string;
  readonly pending: string;
  readonly checkpoints: string;
}

/** @internal */
export function auditTables(prefix: string): AuditTables {
  return {
    events: `${prefix}_events`,
    heads: `${prefix}_heads`,
    pending: `${prefix}_pending`,
    checkpoints: `${prefix}_checkpoints`,
  };
}

/** Columns of the events table, in COPY order. @internal */
export const EVENT_COLUMNS = [
  'id',
  'chain',
  'seq',
  'occurred_at',
  'service',
  'category',
  'level',
  'action',
  'outcome',
  'error_code',
  'actor',
  'tenant',
  'ip',
  'user_agent',
  'correlation_id',
  'resource_type',
  'resource_id',
  'subject',
  'tags',
  'duration_ms',
  'data',
  'prev_hash',
  'hash',
] as const;

/**
 * The schema. The events table is partitioned by month on `occurred_at` so that retention is a
 * partition drop. Indexes, each for a query the lib runs: `(chain, seq)` for verification,
 * `(occurred_at, id)` is the primary key and the keyset order; actor, tenant, resource,
 * correlation id and subject for the filters and reports that select on them. No more: every
 * index costs ingest speed.
 * @internal
 */
export function schemaStatements(prefix: string): string[] {
  const t = auditTables(prefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.events} (
      id uuid NOT NULL, chain text NOT NULL, seq bigint NOT NULL, occurred_at timestamptz NOT NULL,
      service text NOT NULL, category text NOT NULL, level text NOT NULL, action text NOT NULL,
      outcome text NOT NULL, error_code text, actor text, tenant text, ip text, user_agent text,
      correlation_id text, resource_type text, resource_id text, subject text,
      tags text[] NOT NULL DEFAULT '{}', duration_ms double precision, data jsonb,
      prev_hash text NOT NULL, hash text NOT NULL,
      PRIMARY KEY (occurred_at, id)
    ) PARTITION BY RANGE (occurred_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_chain_seq ON ${t.events} (chain, seq)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_actor ON ${t.events} (actor, occurred_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_tenant ON ${t.events} (tenant, occurred_at)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_resource ON ${t.events} (resource_type, resource_id)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_correlation ON ${t.events} (correlation_id)`,
    `CREATE INDEX IF NOT EXISTS ${t.events}_subject ON ${t.events} (subject) WHERE subject IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.heads} (chain text PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.pending} (
      n bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, event jsonb NOT NULL,
      enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
      n bigserial PRIMARY KEY, chain text NOT NULL, from_seq bigint NOT NULL, to_seq bigint NOT NULL,
      count bigint NOT NULL, last_hash text NOT NULL, created_at text NOT NULL, reason text NOT NULL,
      previous_signature text NOT NULL, algorithm text NOT NULL, key_id text NOT NULL,
      signature text NOT NULL)`,
  ];
}

/**
 * Optional hardening: a trigger that rejects UPDATE and DELETE on the events table (and so on
 * every partition), and a role that may only INSERT and SELECT. Neither stops a superuser or the
 * table owner (who can disable the trigger, TRUNCATE or DROP a partition): the hash chain and the
 * signed checkpoints still detect that.
 * @internal
 */
export function hardeningStatements(prefix: string): string[] {
  const t = auditTables(prefix);
  return [
    `CREATE OR REPLACE FUNCTION ${prefix}_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit events are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege'; END $$`,
    `DROP TRIGGER IF EXISTS ${prefix}_append_only ON ${t.events}`,
    `CREATE TRIGGER ${prefix}_append_only BEFORE UPDATE OR DELETE ON ${t.events}
      FOR EACH ROW EXECUTE FUNCTION ${prefix}_reject_change()`,
    `DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${prefix}_writer') THEN
        CREATE ROLE ${prefix}_writer NOLOGIN; END IF; END $$`,
    `GRANT SELECT, INSERT ON ${t.events} TO ${prefix}_writer`,
    `GRANT SELECT, INSERT, UPDATE ON ${t.heads} TO ${prefix}_writer`,
    `GRANT SELECT, INSERT, DELETE ON ${t.pending} TO ${prefix}_writer`,
    `GRANT SELECT, INSERT ON ${t.checkpoints} TO ${prefix}_writer`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${prefix}_writer`,
  ];
}

/** Name of the partition of a `YYYY-MM` month. @internal */
export function partitionName(prefix: string, month: string): string {
  return `${prefix}_events_${month.replace('-', '_')}`;
}
