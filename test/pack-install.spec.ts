/**
 * The packages as a user gets them: every lib is packed (`npm pack`, after `npm run build`), the
 * tarballs are installed with Nest from the npm registry into a fresh NestJS 12 application in a
 * temporary directory outside the repository (test/pack/consumer), which is compiled with
 * `skipLibCheck: false` and run: @Retry, @WithLock, registry self-registration and the health
 * endpoints, the way an application would use them.
 *
 * Installs use the npm cache with `--prefer-offline` (the first run on a machine downloads Nest;
 * later ones only unpack). Versions of what the application itself installs are pinned to the
 * ones this repository tests with, so the run is the same every time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { redisUrl, uniquePrefix } from './support/services.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LIBS = ['core', 'coordination', 'locks', 'registry', 'health', 'audit', 'messaging'];
/** What a tarball may hold: built output, its manifest, its README. */
const PACKED_FILE = /^(dist\/.+\.(js|d\.ts|js\.map)|package\.json|README\.md)$/;

interface Manifest {
  name: string;
  version: string;
  exports?: Record<string, string | Record<string, string>>;
  main?: string;
  types?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  engines?: { node: string };
}

interface PackResult {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const manifests = new Map(
  LIBS.map((lib) => [
    lib,
    JSON.parse(readFileSync(join(ROOT, 'libs', lib, 'package.json'), 'utf8')) as Manifest,
  ]),
);

/** Runs a command; rejects with its output when it fails. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        // The Jest worker's --experimental-vm-modules is no business of npm, tsc or the app.
        env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${args.join(' ')} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`,
            ),
          );
        } else resolve(stdout);
      },
    );
  });
}

/** Bare package names a built file imports: static imports, and `import()` separately. */
function importsOf(source: string): { static: Set<string>; dynamic: Set<string> } {
  const packageOf = (specifier: string) =>
    specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0];
  const result = { static: new Set<string>(), dynamic: new Set<string>() };
  const bare = (s: string) => !s.startsWith('.') && !s.startsWith('node:');
  for (const m of source.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g,
  )) {
    if (bare(m[1])) result.static.add(packageOf(m[1]));
  }
  for (const m of source.matchAll(/^import\s*['"]([^'"]+)['"]/gm)) {
    if (bare(m[1])) result.static.add(packageOf(m[1]));
  }
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (bare(m[1])) result.dynamic.add(packageOf(m[1]));
  }
  return result;
}

function builtFiles(lib: string): string[] {
  const dist = join(ROOT, 'libs', lib, 'dist');
  return readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(js|d\.ts)$/.test(file))
    .map((file) => join(dist, file));
}

describe('packages', () => {
  it('are built: npm run build (npm test runs it) wrote libs/<lib>/dist', () => {
    for (const lib of LIBS) {
      for (const file of ['index.js', 'index.d.ts']) {
        expect(
          existsSync(join(ROOT, 'libs', lib, 'dist', file)) ? file : `missing ${lib}/dist/${file}`,
        ).toBe(file);
      }
    }
  });

  it('declare every package their built files import, and nothing they do not', () => {
    const coreRange = `^${manifests.get('core')!.version}`;
    for (const [lib, manifest] of manifests) {
      const deps = manifest.dependencies ?? {};
      const peers = manifest.peerDependencies ?? {};
      const optional = new Set(
        Object.entries(manifest.peerDependenciesMeta ?? {})
          .filter(([, meta]) => meta.optional)
          .map(([name]) => name),
      );
      const js = { static: new Set<string>(), dynamic: new Set<string>() };
      const dts = new Set<string>();
      for (const file of builtFiles(lib)) {
        const found = importsOf(readFileSync(file, 'utf8'));
        if (file.endsWith('.d.ts')) [...found.static, ...found.dynamic].forEach((p) => dts.add(p));
        else {
          found.static.forEach((p) => js.static.add(p));
          found.dynamic.forEach((p) => js.dynamic.add(p));
        }
      }
      const where = `${manifest.name}`;
      // Listed, and in one place only.
      for (const name of [...js.static, ...js.dynamic, ...dts]) {
        expect(
          `${where} imports ${name}: ${name in deps || name in peers ? 'declared' : 'UNDECLARED'}`,
        ).toBe(`${where} imports ${name}: declared`);
      }
      for (const name of Object.keys(deps)) {
        expect(
          `${where}: ${name} in ${name in peers ? 'dependencies and peerDependencies' : 'dependencies'}`,
        ).toBe(`${where}: ${name} in dependencies`);
      }
      for (const name of optional) {
        expect(
          `${where}: optional peer ${name} ${name in peers ? 'has a range' : 'HAS NO RANGE'}`,
        ).toBe(`${where}: optional peer ${name} has a range`);
        // An optional peer is loaded with import() only, and no declaration names it: an
        // application without it must load and compile (skipLibCheck: false).
        expect(`${where}: ${name} ${js.static.has(name) ? 'imported statically' : 'lazy'}`).toBe(
          `${where}: ${name} lazy`,
        );
        expect(`${where}: ${name} ${dts.has(name) ? 'in a .d.ts' : 'in no .d.ts'}`).toBe(
          `${where}: ${name} in no .d.ts`,
        );
      }
      // Nothing required that no built file uses.
      for (const name of [
        ...Object.keys(deps),
        ...Object.keys(peers).filter((p) => !optional.has(p)),
      ]) {
        expect(
          `${where}: ${name} ${js.static.has(name) || dts.has(name) ? 'used' : 'UNUSED'}`,
        ).toBe(`${where}: ${name} used`);
      }
      // One range for @keel/* everywhere.
      for (const [name, range] of Object.entries({ ...deps, ...peers })) {
        if (name.startsWith('@keel/'))
          expect(`${where}: ${name}@${range}`).toBe(`${where}: ${name}@${coreRange}`);
      }
      expect(manifest.version).toBe(manifests.get('core')!.version);
      // One Node range for every lib, covering the versions the repository runs on.
      expect(manifest.engines?.node).toBe(manifests.get('core')!.engines?.node);
      expect(semver.subset(rootManifest.engines.node, manifest.engines!.node)).toBe(true);
    }
  });
});

describe('README install section', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Install\n'), readme.indexOf('\n## Modules\n'));

  it('shows the npm install line', () => {
    expect(section).toContain('npm install @keel/core @keel/coordination');
  });

  it.each(LIBS)("lists @keel/%s's required peers, optional peers and dependencies", (lib) => {
    const manifest = manifests.get(lib)!;
    const row = section
      .split('\n')
      .find((line) => line.startsWith('|') && line.includes(`\`${manifest.name}\``));
    expect(row).toBeDefined();
    const [, , required, optional, own] = row!.split('|').map((cell) => cell.trim());
    const isOptional = (name: string) => manifest.peerDependenciesMeta?.[name]?.optional === true;
    const peers = Object.keys(manifest.peerDependencies ?? {});
    expect(peers.filter((p) => !isOptional(p) && !required.includes(`\`${p}\``))).toEqual([]);
    expect(peers.filter((p) => isOptional(p) && !optional.includes(`\`${p}\``))).toEqual([]);
    const deps = Object.keys(manifest.dependencies ?? {});
    expect(deps.filter((d) => !own.split(/,\s*/).includes(d))).toEqual([]);
  });
});

describe('packed and installed in a fresh NestJS application', () => {
  let work = '';
  let app = '';
  let packs: PackResult[] = [];
  let compileError: unknown;
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      timings[step] = Math.round(performance.now() - start);
    }
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'keel-pack-'));
    app = join(work, 'app');
    const tarballs = join(work, 'tarballs');
    await mkdir(tarballs);
    const out = await timed('pack', () =>
      run('npm', ['pack', '--workspaces', '--pack-destination', tarballs, '--json', '--silent'], {
        cwd: ROOT,
      }),
    );
    packs = JSON.parse(out) as PackResult[];

    await cp(join(ROOT, 'test/pack/consumer'), app, {
      recursive: true,
      filter: (source) => !/[/\\](dist|node_modules)$/.test(source),
    });
    const pinned = (name: string) => {
      const version = rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];
      if (!version) throw new Error(`${name} is not a dependency of the repository`);
      return version;
    };
    const keel = Object.fromEntries(
      packs.map((p) => [p.name, `file:${relative(app, join(tarballs, p.filename))}`]),
    );
    const manifest = {
      name: 'keel-consumer',
      private: true,
      type: 'module',
      dependencies: {
        ...keel,
        ...Object.fromEntries(
          [
            '@nestjs/common',
            '@nestjs/core',
            '@nestjs/platform-express',
            '@nestjs/terminus',
            'ioredis',
            'reflect-metadata',
            'rxjs',
          ].map((name) => [name, pinned(name)]),
        ),
      },
      devDependencies: Object.fromEntries(
        ['typescript', '@types/node'].map((name) => [name, pinned(name)]),
      ),
    };
    await writeFile(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await timed('install', () =>
      run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd: app,
        timeoutMs: 240_000,
      }),
    );
    // Compiled here so that each behaviour test below can also run alone (`-t`).
    compileError = await timed('tsc', () =>
      run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', app], {
        cwd: app,
      }),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
  }, 300_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (Object.keys(timings).length) {
      process.stdout.write(`pack-install timings (ms): ${JSON.stringify(timings)}\n`);
    }
  });

  it('is outside the repository', () => {
    expect(relative(ROOT, app).startsWith('..')).toBe(true);
  });

  it('packs every lib, holding only built .js, .d.ts, source maps, package.json and README', () => {
    expect(packs.map((p) => p.name).sort()).toEqual(
      [...manifests.values()].map((m) => m.name).sort(),
    );
    for (const pack of packs) {
      const files = pack.files.map((f) => f.path);
      expect(files.filter((f) => !PACKED_FILE.test(f))).toEqual([]);
      expect(files.filter((f) => /\.spec\.|(^|\/)test\//.test(f))).toEqual([]);
      expect(files).toEqual(
        expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts']),
      );
      // Every entry point the manifest exports is in the tarball.
      const manifest = [...manifests.values()].find((m) => m.name === pack.name)!;
      const targets = Object.values(manifest.exports ?? {}).flatMap((e) =>
        typeof e === 'string' ? [e] : Object.values(e),
      );
      for (const target of [...targets, manifest.main, manifest.types]) {
        expect(files).toContain(target!.replace(/^\.\//, ''));
      }
    }
  });

  it('installs one copy of Nest, and none of the optional peers the application does not use', () => {
    const modules = join(app, 'node_modules');
    for (const lib of LIBS) {
      expect(existsSync(join(modules, '@keel', lib, 'node_modules', '@nestjs'))).toBe(false);
    }
    for (const optional of [
      'typeorm',
      '@nestjs/microservices',
      'class-validator',
      'class-transformer',
    ]) {
      expect(`${optional}: ${existsSync(join(modules, optional)) ? 'installed' : 'absent'}`).toBe(
        `${optional}: absent`,
      );
    }
  });

  it('compiles with tsc and skipLibCheck: false', () => {
    expect(compileError).toBeUndefined();
    expect(existsSync(join(app, 'dist/main.js'))).toBe(true);
  });

  it('boots and runs @Retry, @WithLock, self-registration and the health endpoints', async () => {
    const out = await timed('boot', () =>
      run(process.execPath, ['dist/main.js'], {
        cwd: app,
        env: { REDIS_URL: redisUrl(), KEEL_REDIS_KEY_PREFIX: `${uniquePrefix('pack')}:` },
        timeoutMs: 60_000,
      }),
    );
    const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toMatchObject({
      redis: true,
      retried: 3,
      attempts: 3,
      locked: { jobId: '42', key: 'job:42', fencingToken: expect.any(Number) },
      ready: 200,
      metrics: 200,
    });
    expect(result.serviceName).toMatch(/^pack-consumer-\d+$/);
    expect(result.instanceId).toEqual(expect.any(String));
    expect(result.discovered).toContain(result.instanceId);
    expect(result.readyChecks).toEqual(
      expect.arrayContaining(['breakers', 'locks', 'registry', 'redis']),
    );
  }, 60_000);

  it('installs the keel-audit command, which verifies the trail the application wrote', async () => {
    const out = await run(
      join(app, 'node_modules/.bin/keel-audit'),
      ['verify', '--dir', '.keel/audit'],
      {
        cwd: app,
        timeoutMs: 30_000,
      },
    );
    expect(out).toMatch(/verified: \d+ chains intact|no chains: the trail is empty/);
  });

  it('installs the keel-messaging command (kafkajs is loaded only when it reads a topic)', async () => {
    const out = await run(join(app, 'node_modules/.bin/keel-messaging'), ['--help'], {
      cwd: app,
      timeoutMs: 30_000,
    });
    expect(out).toContain('usage: keel-messaging dlq <list|inspect|replay>');
  });

  it('stops at startup, naming the packages, when a DTO class is validated without class-validator', async () => {
    const out = await run(process.execPath, ['dist/main.js', 'dto'], {
      cwd: app,
      timeoutMs: 60_000,
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { booted: boolean; error?: string };
    expect(result.booted).toBe(false);
    expect(result.error).toMatch(
      /KeelDecoratorError: .*DtoService\.create: validating the DTO class CreateJobDto needs class-validator and class-transformer, which are not installed; run npm install class-validator class-transformer/s,
    );
  }, 60_000);
});
