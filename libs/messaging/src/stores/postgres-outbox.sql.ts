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
  ];
}
