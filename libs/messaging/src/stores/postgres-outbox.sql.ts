/** Table names of one prefix. @internal */
export function outboxTable(prefix: string): string {
  return `${prefix}_outbox`;
}

/**
 * The outbox: one row per event written in the caller's transaction, in commit order of `n`
 * (a bigserial: rows of concurrent transactions may commit out of `n` order, which only matters
 * across keys — see the relay). `sent_at` is set by the relay once the broker acknowledged the
 * row. The partial index keeps the relay's scan on unsent rows only.
 * @internal
 */
export function outboxSchema(prefix: string): string[] {
  const t = outboxTable(prefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
      n bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, topic text NOT NULL, key text,
      headers jsonb NOT NULL, value text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(), sent_at timestamptz,
      attempts integer NOT NULL DEFAULT 0, last_error text)`,
    `CREATE INDEX IF NOT EXISTS ${t}_unsent ON ${t} (n) WHERE sent_at IS NULL`,
    // Rows Kafka refused for good (a record too large for the broker): set aside, not sent, kept
    // until requeued. Added by ALTER so outboxes created before it gain the column.
    `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS dead_at timestamptz`,
  ];
}

/** The dead rows of an outbox, oldest first (for the CLI). @internal */
export function deadRowsSql(prefix: string): string {
  return `SELECT n, id, topic, key, attempts, last_error, created_at, dead_at FROM ${outboxTable(prefix)}
    WHERE dead_at IS NOT NULL AND sent_at IS NULL ORDER BY n`;
}

/** Puts dead rows back in line (all, or those of `$1` ids); the relay sends them next. @internal */
export function requeueSql(prefix: string, some: boolean): string {
  return `UPDATE ${outboxTable(prefix)} SET dead_at = NULL, attempts = 0, last_error = NULL
    WHERE dead_at IS NOT NULL AND sent_at IS NULL${some ? ' AND id = ANY($1::uuid[])' : ''} RETURNING id`;
}
