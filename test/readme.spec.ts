import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { CORE_ERRORS, KEEL_ENV_VARIABLES, type KeelErrorCodes } from '@keel/core';
import { envVariableNames, type ModuleSettingsSpec } from '@keel/core/internal';
import { COORDINATION_ERRORS } from '@keel/coordination';
import { HEALTH_ERRORS } from '@keel/health';
import { LOCKS_ERRORS } from '@keel/locks';
import { REGISTRY_ERRORS } from '@keel/registry';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const libReadme = (lib: string) =>
  readFileSync(new URL(`../libs/${lib}/README.md`, import.meta.url), 'utf8');

/**
 * Every module's settings spec (`<LIB>_SETTINGS_SPEC` in `libs/<lib>/src/<lib>.settings.ts`), so
 * a module's `KEEL_<SECTION>_*` variables are documented as surely as core's: a lib that adds a
 * variable adds it to its spec, and this finds it.
 */
async function moduleSettingsSpecs(): Promise<ModuleSettingsSpec<object>[]> {
  const libs = new URL('../libs/', import.meta.url);
  const specs: ModuleSettingsSpec<object>[] = [];
  for (const lib of readdirSync(libs)) {
    const file = new URL(`${lib}/src/${lib}.settings.ts`, libs);
    if (!existsSync(file)) continue;
    const exports = (await import(file.pathname)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (name.endsWith('_SETTINGS_SPEC')) specs.push(value as ModuleSettingsSpec<object>);
    }
  }
  return specs;
}

describe('README', () => {
  const configurationTable = () => {
    const start = readme.search(/^## Configuration$/m);
    expect(start).toBeGreaterThan(-1);
    return readme.slice(start, readme.indexOf('\n## ', start + 1));
  };

  it('documents every environment variable Keel reads in the configuration table', () => {
    const table = configurationTable();
    for (const variable of KEEL_ENV_VARIABLES) {
      expect(table).toContain(`\`${variable.name}\``);
    }
  });

  it("documents every module's KEEL_<SECTION>_* variables there too", async () => {
    const table = configurationTable();
    const specs = await moduleSettingsSpecs();
    expect(specs.map((spec) => spec.section)).toEqual(expect.arrayContaining(['health']));
    const names = specs.flatMap((spec) => Object.values(envVariableNames(spec)));
    expect(names).toContain('KEEL_HEALTH_TIMEOUT_MS');
    expect(names.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('lists every error code with the HTTP status its lib gives it', () => {
    const tables: [string, KeelErrorCodes, string][] = [
      ['core', CORE_ERRORS, libReadme('core')],
      ['coordination', COORDINATION_ERRORS, libReadme('coordination')],
      ['locks', LOCKS_ERRORS, libReadme('locks')],
      ['registry', REGISTRY_ERRORS, libReadme('registry')],
      ['health', HEALTH_ERRORS, libReadme('health')],
    ];
    const missing: string[] = [];
    for (const [lib, table, text] of tables) {
      for (const [code, { status }] of Object.entries(table)) {
        const row = new RegExp(`^\\|.*\`${code}\`.*\\| ${status}\\b`, 'm');
        if (!row.test(text)) missing.push(`${lib}: ${code} ${status}`);
        // Core's README has the whole edge: every code of every lib, in one table.
        if (!row.test(libReadme('core')))
          missing.push(`core README (all codes): ${code} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('keeps the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });
});

describe('README library sections', () => {
  it('has every top-level section, and a synced section per finished library', () => {
    const headings = readme.match(/^## .*$/gm) ?? [];
    for (const heading of [
      '## Quick start',
      '## @keel/core',
      '## @keel/health',
      '## @keel/coordination',
      '## @keel/locks',
      '## @keel/registry',
      '## Configuration',
      '## Testing',
      '## Benchmarks',
      '## Performance',
    ]) {
      expect(headings).toContain(heading);
    }
    for (const lib of ['coordination', 'locks', 'registry', 'health']) {
      expect(readme).toContain(`<!-- lib:${lib} -->`);
      expect(readme).toContain(`<!-- /lib:${lib} -->`);
    }
  });

  it('are in sync with libs/*/README.md (node scripts/sync-readme.mjs)', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = new URL('../scripts/sync-readme.mjs', import.meta.url).pathname;
    expect(() =>
      execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});

describe('README example', () => {
  it('is the tested fixture, verbatim', () => {
    const fixture = readFileSync(new URL('./fixtures/readme-example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(fixture);
  });

  it('boots and runs on embedded defaults', async () => {
    const { Test } = await import('@nestjs/testing');
    const { AppModule, PaymentsService } = await import('./fixtures/readme-example.js');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      await expect(app.get(PaymentsService).charge('o-1', 500)).resolves.toEqual({
        orderId: 'o-1',
        cents: 500,
      });
    } finally {
      await app.close();
    }
  });
});
