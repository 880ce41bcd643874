import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { CORE_ERRORS, KEEL_ENV_VARIABLES, type KeelErrorCodes } from '@keel/core';
import { envVariableNames, type ModuleSettingsSpec } from '@keel/core/internal';
import { COORDINATION_ERRORS } from '@keel/coordination';
import { HEALTH_ERRORS } from '@keel/health';
import { LOCKS_ERRORS } from '@keel/locks';
import { REGISTRY_ERRORS } from '@keel/registry';
import { AUDIT_ERRORS } from '@keel/audit';
import { MESSAGING_ERRORS } from '@keel/messaging';

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
      ['audit', AUDIT_ERRORS, libReadme('audit')],
      ['messaging', MESSAGING_ERRORS, libReadme('messaging')],
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

describe('README shape', () => {
  it('has every top-level section, a table of contents and about 250 lines', () => {
    const headings = readme.match(/^## .*$/gm) ?? [];
    expect(headings).toEqual([
      '## Quick start',
      '## Install',
      '## Modules',
      '## Configuration',
      '## Testing',
      '## Performance',
      '## Layout',
    ]);
    for (const heading of headings) {
      const anchor = heading.slice(3).toLowerCase().replace(/ /g, '-');
      expect(readme).toContain(`](#${anchor})`);
    }
    // The root README is the front door; each module's documentation lives in its own README.
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it("links every lib's README from the module table, and keeps no copy of one", () => {
    const modules = readme.slice(
      readme.indexOf('\n## Modules\n'),
      readme.indexOf('\n## Configuration\n'),
    );
    for (const lib of readdirSync(new URL('../libs/', import.meta.url))) {
      expect(modules).toContain(`[libs/${lib}](libs/${lib}/README.md)`);
    }
    expect(readme).not.toMatch(/<!-- \/?lib:/);
  });
});

/** The libs whose README follows the section skeleton of docs/lib-skeleton.md. */
const SKELETON_READMES = [
  'core',
  'health',
  'locks',
  'registry',
  'coordination',
  'audit',
  'messaging',
];
const README_SECTIONS = [
  'Setup',
  'Usage',
  'Options',
  'Errors',
  'Health & metrics',
  'Guarantees & limits',
  'Performance',
];

describe.each(SKELETON_READMES)('libs/%s/README.md', (lib) => {
  const text = libReadme(lib);
  const sections = (text.match(/^## .*$/gm) ?? []).map((heading) => heading.slice(3));

  it('has the skeleton sections, in order', () => {
    expect(sections).toEqual(README_SECTIONS);
  });

  it('opens with a table of contents linking each section', () => {
    const contents = text.slice(0, text.indexOf('\n## '));
    for (const section of README_SECTIONS) {
      const anchor = section.toLowerCase().replace(/&/g, '').replace(/ /g, '-');
      expect(contents).toContain(`](#${anchor})`);
    }
  });
});

describe('README example', () => {
  it('is the tested fixture, verbatim', () => {
    const fixture = readFileSync(new URL('./fixtures/readme-example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(fixture);
  });

  it('boots and runs with Redis (REDIS_URL, as the test environment sets it)', async () => {
    expect(process.env.REDIS_URL).toBeDefined();
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

  it('without Redis, stops at startup saying the breaker needs it', async () => {
    const { Test } = await import('@nestjs/testing');
    const { AppModule } = await import('./fixtures/readme-example.js');
    const saved = { REDIS_URL: process.env.REDIS_URL, KEEL_REDIS_URL: process.env.KEEL_REDIS_URL };
    delete process.env.REDIS_URL;
    delete process.env.KEEL_REDIS_URL;
    try {
      const booted = Test.createTestingModule({ imports: [AppModule] })
        .compile()
        .then((moduleRef) => moduleRef.createNestApplication({ logger: false }).init());
      const error = (await booted.then(
        (app) => app.close().then(() => undefined),
        (e: unknown) => e,
      )) as Error | undefined;
      expect(error?.message).toMatch(/redis/i);
      expect(error?.message).toContain('PaymentsService');
      // One line per problem, naming the method and what to set.
      expect(error?.message.split('\n')).toEqual([
        'Keel found 1 problem with decorated methods:',
        expect.stringMatching(
          /^ {2}- PaymentsService\.charge: @CircuitBreaker store: 'redis' .*REDIS_URL/,
        ),
      ]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value !== undefined) process.env[name] = value;
      }
    }
  });
});
