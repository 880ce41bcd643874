import { parseArgs } from 'node:util';
import { deadRowsSql, requeueSql } from '../stores/postgres-outbox.sql.js';
import { UsageError, usageProblem, type CliIo } from './cli-io.js';

export const OUTBOX_USAGE = `usage: keel-messaging outbox <list|requeue> [options]

The outbox's dead rows: events Kafka refused for good (too large, invalid), set aside by the
relay so the rest could go on.

  list                 one line per dead row: id, topic, key, attempts, error, when
  requeue              puts dead rows back in line; the relay sends them next (in outbox order)

  --database-url URL   PostgreSQL (default: $DATABASE_URL)
  --table-prefix NAME  the outbox table is <prefix>_outbox (default: keel_messaging)
  --id ID              requeue: only this event id (repeatable); without it, every dead row
  --json               list: one JSON object per line
`;

interface DeadRow {
  readonly n: string;
  readonly id: string;
  readonly topic: string;
  readonly key: string | null;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly created_at: Date;
  readonly dead_at: Date;
}

/** Runs `keel-messaging outbox <action>`; resolves to the exit code (0, 2 usage, 3 unreachable). */
export async function runOutboxCommand(
  action: string | undefined,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  let values: { url: string; prefix: string; ids: string[]; json: boolean };
  try {
    if (action !== 'list' && action !== 'requeue') {
      throw new UsageError(
        `outbox needs an action: list or requeue (got ${action === undefined ? 'none' : `'${action}'`})`,
      );
    }
    values = parseOutboxArgs(argv, io.env);
  } catch (error) {
    const problem = usageProblem(error);
    if (problem === undefined) throw error;
    io.stderr(`keel-messaging: ${problem}\n${OUTBOX_USAGE}`);
    return 2;
  }
  let pg: typeof import('pg');
  try {
    pg = await import('pg');
  } catch {
    io.stderr('keel-messaging: the outbox commands need the pg package: npm install pg\n');
    return 3;
  }
  const client = new pg.default.Client({ connectionString: values.url });
  try {
    await client.connect();
    if (action === 'list') {
      const { rows } = await client.query<DeadRow>(deadRowsSql(values.prefix));
      for (const row of rows) io.stdout(values.json ? `${JSON.stringify(row)}\n` : deadLine(row));
      if (!values.json) io.stderr(`${rows.length} dead rows in ${values.prefix}_outbox\n`);
    } else {
      const some = values.ids.length > 0;
      const { rows } = await client.query<{ id: string }>(
        requeueSql(values.prefix, some),
        some ? [values.ids] : [],
      );
      // Wake the relay at once (it also finds them at its next poll).
      await client.query('SELECT pg_notify($1, $2)', [`${values.prefix}_outbox_added`, '']);
      io.stdout(`requeued ${rows.length} dead rows of ${values.prefix}_outbox\n`);
    }
    return 0;
  } catch (error) {
    io.stderr(
      `keel-messaging: cannot use ${values.prefix}_outbox: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 3;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function parseOutboxArgs(argv: readonly string[], env: CliIo['env']) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'database-url': { type: 'string' },
      'table-prefix': { type: 'string' },
      id: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const url = values['database-url'] ?? env['DATABASE_URL'] ?? env['KEEL_DATABASE_URL'];
  if (url === undefined)
    throw new UsageError('no database: give --database-url or set DATABASE_URL');
  const prefix = values['table-prefix'] ?? 'keel_messaging';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new UsageError(`--table-prefix must be a lowercase SQL identifier (got '${prefix}')`);
  }
  const ids = values.id ?? [];
  for (const id of ids) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      throw new UsageError(`--id must be an event id (a UUID), got '${id}'`);
    }
  }
  return { url, prefix, ids, json: values.json };
}

function deadLine(row: DeadRow): string {
  return `${row.id}  ${row.topic}  key=${row.key ?? '-'}  ${row.attempts} attempts  dead since ${new Date(row.dead_at).toISOString()}: ${row.last_error ?? ''}\n`;
}
