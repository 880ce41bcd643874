import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Checks that every lib follows docs/lib-skeleton.md: the files it names, and the conventions a
 * grep can see (the isGlobal default, token descriptions, no plain Error, Lua beside its store).
 */

interface LibProfile {
  readonly name: string;
  /** Has errors, messages and metrics of its own (a shell has none yet). */
  readonly full: boolean;
  /** Contributes a readiness check. */
  readonly health: boolean;
  /** Declares metrics of its own (a full lib may have none: health serves the others'). @default full */
  readonly metrics?: boolean;
  /** Its module is @Global() by nature (core): no isGlobal extra. */
  readonly alwaysGlobal?: boolean;
}

/** Every lib, with what the skeleton asks of it. A new lib is added here when it is created. */
const LIBS: readonly LibProfile[] = [
  // @keel/core is @Global() by nature and has no check of its own: @keel/health pings the Redis
  // connections core opens (a core indicator would need Terminus in core).
  { name: 'core', full: true, health: false, alwaysGlobal: true },
  // @keel/health runs the readiness checks (its Redis and database checks are not indicators
  // of its own) and serves /metrics, but declares no metric.
  { name: 'health', full: true, health: false, metrics: false },
  { name: 'coordination', full: true, health: true },
  { name: 'locks', full: true, health: true },
  { name: 'registry', full: true, health: true },
  { name: 'audit', full: true, health: true },
  { name: 'messaging', full: true, health: true },
];

const ROOT = new URL('../', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function requiredFiles(lib: LibProfile): string[] {
  const n = lib.name;
  const files = [
    'README.md',
    'package.json',
    'src/index.ts',
    `src/${n}.module.ts`,
    `src/${n}.module-definition.ts`,
    `src/interfaces/${n}-options.interface.ts`,
    `src/${n}.settings.ts`,
    `src/${n}.settings.spec.ts`,
    `src/${n}.providers.ts`,
    `src/${n}.constants.ts`,
  ];
  if (lib.full) {
    files.push(`src/${n}.messages.ts`, `src/${n}.errors.ts`);
    if (lib.metrics ?? true) files.push(`src/${n}.metrics.ts`);
    files.push('test/errors.spec.ts');
  }
  if (lib.health) files.push(`src/${n}.health.ts`);
  return files;
}

describe.each(LIBS)('lib $name follows docs/lib-skeleton.md', (lib) => {
  const dir = join(ROOT, 'libs', lib.name);
  const sources = filesUnder(join(dir, 'src')).filter((f) => f.endsWith('.ts'));
  const code = sources.filter((f) => !f.endsWith('.spec.ts'));

  it('has every file the skeleton names', () => {
    const missing = requiredFiles(lib).filter((file) => !existsSync(join(dir, file)));
    expect(missing).toEqual([]);
  });

  it('defaults isGlobal to true in its module definition', () => {
    if (lib.alwaysGlobal) return;
    const definition = readFileSync(join(dir, `src/${lib.name}.module-definition.ts`), 'utf8');
    expect(definition).toMatch(/setExtras\(\s*\{[^}]*isGlobal: true/);
  });

  it('describes each Symbol token by its own name', () => {
    const wrong: string[] = [];
    for (const file of code) {
      const text = readFileSync(file, 'utf8');
      for (const [, name, description] of text.matchAll(
        /export const (\w+) = Symbol\('([^']*)'\)/g,
      )) {
        const ok = /^[A-Z0-9_]+$/.test(name)
          ? description === name || description === `KEEL_${name}`
          : description === name;
        if (!ok) wrong.push(`${relative(ROOT, file)}: ${name} = Symbol('${description}')`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('throws no plain Error from library code', () => {
    const plain = code.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(ROOT, file)}:${i + 1}` }))
        .filter(({ line }) => /\bnew Error\(/.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(plain).toEqual([]);
  });

  it('keeps stores in stores/ and Lua scripts in redis-<x>.lua.ts beside them', () => {
    const misplaced = code
      .map((file) => relative(join(dir, 'src'), file))
      .filter(
        (file) =>
          (/\.store\.ts$/.test(file) && !/(^|\/)stores\//.test(file)) ||
          /\.scripts\.ts$/.test(file) ||
          (/\.lua\.ts$/.test(file) && !/(^|\/)stores\/redis-[a-z-]+\.lua\.ts$/.test(file)),
      );
    expect(misplaced).toEqual([]);
  });

  it('imports no other lib by path', () => {
    const deep = code.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)]
        .map(([, specifier]) => specifier)
        .filter(
          (s) => /^@keel\/[a-z]+\/src\b/.test(s) || /\.\.\/\.\.\/(\.\.\/)*[a-z]+\/src\b/.test(s),
        )
        .map((s) => `${relative(ROOT, file)}: ${s}`),
    );
    expect(deep).toEqual([]);
  });
});
