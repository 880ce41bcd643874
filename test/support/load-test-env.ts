// Jest setupFiles entry: puts the service URLs (and the promtool path) chosen by
// `scripts/test-services.mjs ensure` into process.env. Variables already set win, so a developer
// can point one suite elsewhere.
import { readFileSync } from 'node:fs';

const KEYS = [
  'REDIS_URL',
  'DATABASE_URL',
  'MARIADB_URL',
  'KAFKA_BROKERS',
  'PROMTOOL',
  'PDFTOTEXT',
] as const;
const envFile = new URL('../../.test-services/env.json', import.meta.url);

let values: Partial<Record<(typeof KEYS)[number], string>> | undefined;
try {
  values = JSON.parse(readFileSync(envFile, 'utf8')) as typeof values;
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
    throw new Error(`cannot read ${envFile.pathname}: ${(err as Error).message}`, { cause: err });
  }
}

if (values) {
  for (const key of KEYS) {
    const value = values[key];
    if (!process.env[key] && value) process.env[key] = value;
  }
} else if (!KEYS.every((key) => process.env[key])) {
  throw new Error(
    `${envFile.pathname} is missing: run \`npm test\` (which runs scripts/test-services.mjs ` +
      'ensure) or `node scripts/test-services.mjs ensure` first',
  );
}
