import { randomBytes } from 'node:crypto';

function required(name: string, what: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set, so there is no ${what} for this test: run ` +
        '`node scripts/test-services.mjs ensure` (npm test does) or set it yourself',
    );
  }
  return value;
}

/** URL of the shared test Redis, e.g. `redis://127.0.0.1:6379`. */
export function redisUrl(): string {
  return required('REDIS_URL', 'Redis');
}

/** URL of the shared test PostgreSQL database, e.g. `postgres://postgres@127.0.0.1:5432/test`. */
export function databaseUrl(): string {
  return required('DATABASE_URL', 'PostgreSQL');
}

/** URL of the shared test MariaDB database, e.g. `mysql://root@127.0.0.1:3306/test`. */
export function mariadbUrl(): string {
  return required('MARIADB_URL', 'MariaDB');
}

/** Bootstrap brokers of the shared Kafka test broker, e.g. `['127.0.0.1:19092']`. */
export function kafkaBrokers(): string[] {
  return required('KAFKA_BROKERS', 'Kafka')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

let counter = 0;

/**
 * A name no other test (in this or a parallel worker, or an earlier run) uses: for Redis key
 * prefixes, Kafka topics and consumer groups, database schemas. Only `[A-Za-z0-9_-]`, so it is a
 * legal Kafka topic name and needs no quoting.
 *
 * @example uniquePrefix('orders') // 'keel-orders-12345-lx2k9a-1-3f9c'
 */
export function uniquePrefix(label: string): string {
  counter += 1;
  const safe = label.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'test';
  const stamp = Date.now().toString(36);
  return `keel-${safe}-${process.pid}-${stamp}-${counter}-${randomBytes(2).toString('hex')}`;
}
