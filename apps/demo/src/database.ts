import { DataSource } from 'typeorm';

/**
 * The demo could not reach its database at startup. The message is one line: where, why and what
 * to check — host, port and database only, never the URL (it may carry a password).
 */
export class DatabaseUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnreachableError';
  }
}

/** What to check, by driver error code. */
const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'is PostgreSQL running and listening there?',
  ENOTFOUND: 'is the host name right?',
  EAI_AGAIN: 'is the host name right, and DNS reachable?',
  EHOSTUNREACH: 'is the host reachable from here?',
  ETIMEDOUT: 'is the host reachable from here?',
  '28P01': 'check the user name and password in the URL',
  '28000': 'check the user name in the URL',
  '3D000': 'create the database, or name an existing one in the URL',
};

/** How long a connection attempt may take before the demo gives up. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connects the demo's TypeORM DataSource *before* Nest builds the application, so an unreachable
 * database is one line on stderr rather than TypeORM's retry log and Nest's initialisation error,
 * each with the driver's stack.
 *
 * @throws DatabaseUnreachableError naming host, port, database and the driver's reason.
 */
export async function connectDatabase(url: string, serviceName: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: [],
    connectTimeoutMS: CONNECT_TIMEOUT_MS,
  });
  try {
    return await dataSource.initialize();
  } catch (error) {
    const { reason, hint } = explain(error);
    throw new DatabaseUnreachableError(
      `${serviceName}: cannot connect to PostgreSQL at ${describeDatabase(url)} (DATABASE_URL): ` +
        `${reason}; ${hint}`,
      { cause: error },
    );
  }
}

/** `host:port/database` of a PostgreSQL URL, without user or password. */
export function describeDatabase(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

/** The driver's reason, on one line, and what to check. */
function explain(error: unknown): { reason: string; hint: string } {
  const message = error instanceof Error ? error.message : String(error);
  // A host with several addresses fails with an AggregateError whose own message is empty.
  const errors = (error as { errors?: unknown }).errors;
  const text =
    message.trim() === '' && Array.isArray(errors)
      ? errors.map((e) => (e instanceof Error ? e.message : String(e))).join(', ')
      : message;
  const reason = text.split('\n')[0].trim() || 'unknown error';
  // pg reports its connection timeout as "timeout expired" or "... due to connection timeout".
  if (/timeout/i.test(reason)) {
    return { reason: `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`, hint: HINTS.ETIMEDOUT };
  }
  const code = (error as { code?: unknown }).code;
  return {
    reason,
    hint: (typeof code === 'string' ? HINTS[code] : undefined) ?? 'check DATABASE_URL',
  };
}
