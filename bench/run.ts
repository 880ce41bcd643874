/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [...]` the named ones. Each suite
 * module exports `run(): Promise<void>` and prints its table and JSON lines itself.
 */
import { cpus } from 'node:os';
import { machineInfo } from './report.js';

const SUITES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  core: () => import('./core.bench.js'),
  coordination: () => import('./coordination.bench.js'),
  ratelimit: () => import('./ratelimit.bench.js'),
  cache: () => import('./cache.bench.js'),
  locks: () => import('./locks.bench.js'),
  registry: () => import('./registry.bench.js'),
  http: () => import('./http.bench.js'),
  audit: () => import('./audit.bench.js'),
  messaging: () => import('./messaging.bench.js'),
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = requested.filter((name) => !(name in SUITES));
  if (unknown.length > 0) {
    console.error(
      `unknown bench suite(s): ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`,
    );
    process.exit(2);
  }
  const names = requested.length > 0 ? requested : Object.keys(SUITES);
  console.log(
    `Keel benchmarks — ${new Date().toISOString()} — ${machineInfo()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
  );
  for (const name of names) {
    console.log(`\n=== ${name}`);
    const suite = await SUITES[name]();
    await suite.run();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
