/** The inbox table of a prefix. @internal */
export function inboxTable(prefix: string): string {
  return `${prefix}_inbox`;
}

/**
 * The inbox: one row per idempotency key processed, inserted in the handler's own transaction.
 * `expires_at` is when a duplicate stops being recognised (the retention); the index keeps the
 * pruning delete cheap.
 * @internal
 */
export function inboxSchema(prefix: string): string[] {
  const t = inboxTable(prefix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
      key text PRIMARY KEY,
      processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      expires_at timestamptz NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${t}_expires ON ${t} (expires_at)`,
  ];
}

/**
 * Claims a key in the current transaction: inserts it, or takes over a row whose retention has
 * run out; returns no row for a live duplicate. A concurrent first delivery of the same key
 * holds the row lock, so this waits for it to commit (then: a duplicate) or roll back (then:
 * ours).
 * @internal
 */
export function inboxClaimSql(prefix: string): string {
  const t = inboxTable(prefix);
  return `INSERT INTO ${t} (key, expires_at) VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
    ON CONFLICT (key) DO UPDATE SET processed_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
    WHERE ${t}.expires_at <= clock_timestamp()
    RETURNING key`;
}
