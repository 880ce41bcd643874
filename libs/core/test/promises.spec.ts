import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadKeelConfig } from '@keel/core';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

/**
 * Installs a copy of the built `@keel/core` (its package.json and dist/) into `<dir>/node_modules`,
 * beside links to the repo's own dependencies: what npm does when it cannot deduplicate the
 * package, e.g. two libraries each bringing their own copy.
 */
function installCoreCopy(dir: string): string {
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@keel'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '@keel' || entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  const copy = join(modules, '@keel', 'core');
  cpSync(join(ROOT, 'libs/core/package.json'), join(copy, 'package.json'));
  cpSync(join(ROOT, 'libs/core/dist'), join(copy, 'dist'), { recursive: true });
  return pathToFileURL(join(copy, 'dist/index.js')).href;
}

describe('core README promises', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('isKeelError and instanceof KeelError recognise errors from another copy of the package', async () => {
    const [a, b] = ['a', 'b'].map((name) => {
      const dir = mkdtempSync(join(tmpdir(), `keel-core-copy-${name}-`));
      dirs.push(dir);
      return installCoreCopy(dir);
    });
    // A plain Node process: Jest's module registry would hide whether the copies are distinct.
    const script = `
      import 'reflect-metadata';
      const a = await import(${JSON.stringify(a)});
      const b = await import(${JSON.stringify(b)});
      const fromA = new a.KeelConfigError(['x: bad']);
      const lookalike = Object.assign(new Error('not Keel'), { code: 'KEEL_CONFIG_INVALID', status: 500 });
      console.log(JSON.stringify({
        distinctCopies: a.KeelError !== b.KeelError,
        ownPrototype: fromA instanceof b.KeelConfigError,
        isKeelError: b.isKeelError(fromA),
        instanceOfKeelError: fromA instanceof b.KeelError,
        guard: b.isKeelConfigError(fromA),
        backwards: a.isKeelError(new b.KeelArgumentError('bad argument')),
        lookalike: b.isKeelError(lookalike) || lookalike instanceof b.KeelError,
      }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(JSON.parse(stdout.trim())).toEqual({
      distinctCopies: true,
      // Two copies really are two classes: only the brand can tell.
      ownPrototype: false,
      isKeelError: true,
      instanceOfKeelError: true,
      guard: true,
      backwards: true,
      lookalike: false,
    });
  });

  const ALIASES: [bare: string, prefixed: string, bareValue: string, prefixedValue: string][] = [
    ['REDIS_URL', 'KEEL_REDIS_URL', 'redis://bare:6379', 'redis://prefixed:6379'],
    ['DATABASE_URL', 'KEEL_DATABASE_URL', 'postgres://bare/db', 'postgres://prefixed/db'],
    ['KAFKA_BROKERS', 'KEEL_KAFKA_BROKERS', 'bare:9092', 'prefixed:9092'],
    ['PORT', 'KEEL_PORT', '3001', '3002'],
  ];
  const read = (config: ReturnType<typeof loadKeelConfig>, bare: string) =>
    ({
      REDIS_URL: config.redisUrl,
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers?.join(','),
      PORT: String(config.port),
    })[bare];

  it.each(ALIASES)(
    'the KEEL_-prefixed spelling wins when both are set: %s and %s, in either order',
    (bare, prefixed, bareValue, prefixedValue) => {
      const bareFirst = loadKeelConfig({ env: { [bare]: bareValue, [prefixed]: prefixedValue } });
      const prefixedFirst = loadKeelConfig({
        env: { [prefixed]: prefixedValue, [bare]: bareValue },
      });
      expect(read(bareFirst, bare)).toBe(prefixedValue);
      expect(read(prefixedFirst, bare)).toBe(prefixedValue);
      // Either spelling alone is read, so the assertions above are about precedence.
      expect(read(loadKeelConfig({ env: { [bare]: bareValue } }), bare)).toBe(bareValue);
      // Through a ConfigService-like source too.
      const values: Record<string, string> = { [bare]: bareValue, [prefixed]: prefixedValue };
      const fromService = loadKeelConfig({ env: {}, configService: { get: (k) => values[k] } });
      expect(read(fromService, bare)).toBe(prefixedValue);
      // And when the two spellings come from different sources.
      const split = (inService: string, inEnv: string) =>
        loadKeelConfig({
          env: { [inEnv]: values[inEnv] },
          configService: { get: (k) => (k === inService ? values[k] : undefined) },
        });
      expect(read(split(bare, prefixed), bare)).toBe(prefixedValue);
      expect(read(split(prefixed, bare), bare)).toBe(prefixedValue);
    },
  );
});
