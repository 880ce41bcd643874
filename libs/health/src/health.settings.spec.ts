import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import { DEFAULTS, ROUTE_DEFAULTS, resolveHealthSettings } from './health.settings.js';
import type { HealthModuleOptions } from './interfaces/health-options.interface.js';
import { configProblems } from '../../../test/support/config-problems.js';
import { coreSettings } from '../../../test/support/core-settings.js';

const OPTIONS_FILE = new URL('./interfaces/health-options.interface.ts', import.meta.url);

/** Core settings from the given environment and YAML text. */
const core = coreSettings;

describe('HealthModule settings', () => {
  it('documents every default with the value DEFAULTS holds', () => {
    expect(
      undocumentedDefaults(DEFAULTS, documentedDefaults(OPTIONS_FILE, 'HealthModuleOptions')),
    ).toEqual([]);
    expect(
      undocumentedDefaults(ROUTE_DEFAULTS, documentedDefaults(OPTIONS_FILE, 'HealthModuleExtras')),
    ).toEqual([]);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(ROUTE_DEFAULTS)).toBe(true);
  });

  it('gives the defaults when nothing is set', () => {
    expect(resolveHealthSettings({}, core())).toEqual({
      timeoutMs: 1_000,
      redis: false,
      database: 'auto',
      databaseSource: 'HealthModule.database (default)',
    });
  });

  it('applies forRoot > KEEL_HEALTH_TIMEOUT_MS > the YAML section > default, per key', () => {
    const yaml = 'health:\n  timeoutMs: 300\n  database: false\n';
    const env = { KEEL_HEALTH_TIMEOUT_MS: '200' };
    const file = core({ yaml });
    expect(resolveHealthSettings({}, file)).toMatchObject({ timeoutMs: 300, database: false });
    expect(resolveHealthSettings({}, core({ yaml, env }))).toMatchObject({
      timeoutMs: 200,
      database: false,
    });
    expect(resolveHealthSettings({ timeoutMs: 100 }, core({ yaml, env }))).toMatchObject({
      timeoutMs: 100,
      database: false,
    });
    expect(resolveHealthSettings({ database: true }, file)).toMatchObject({
      timeoutMs: 300,
      database: true,
      databaseSource: 'HealthModule.database (forRoot)',
    });
    expect(resolveHealthSettings({}, file).databaseSource).toBe(
      `health.database (${file.config.file})`,
    );
  });

  it('pings Redis when Keel has it, unless told not to', () => {
    expect(resolveHealthSettings({}, core({ redis: true })).redis).toBe(true);
    expect(resolveHealthSettings({ redis: false }, core({ redis: true })).redis).toBe(false);
    expect(resolveHealthSettings({ redis: true }, core({ redis: true })).redis).toBe(true);
    expect(resolveHealthSettings({}, core()).redis).toBe(false);
  });

  it('refuses redis: true when KeelCoreModule has no Redis, naming where it was asked for', () => {
    expect(configProblems(() => resolveHealthSettings({ redis: true }, core()))).toEqual([
      expect.stringMatching(
        /^HealthModule\.redis \(forRoot\): true needs Redis, and none is configured; set REDIS_URL/,
      ),
    ]);
    const yaml = core({ yaml: 'health:\n  redis: true\n' });
    expect(configProblems(() => resolveHealthSettings({}, yaml))).toEqual([
      expect.stringMatching(
        new RegExp(`^health\\.redis \\(${yaml.config.file}\\): true needs Redis`),
      ),
    ]);
  });

  it('reports every problem of every source at once, one line each, naming what is accepted', () => {
    const settings = core({
      yaml: 'health:\n  database: maybe\n  timeout: 5\n',
      env: { KEEL_HEALTH_TIMEOUT_MS: '5', KEEL_HEALTH_TIMEOUT: '5' },
    });
    const file = settings.config.file;
    const problems = configProblems(() =>
      resolveHealthSettings({ redis: 'yes' } as unknown as HealthModuleOptions, settings),
    );
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        `health.database (${file}): must be one of: true, false, auto`,
        expect.stringMatching(new RegExp(`^health \\(${file}\\): unknown key 'timeout'`)),
        "KEEL_HEALTH_TIMEOUT_MS: must be a whole number from 10 to 60000 (got '5')",
        'KEEL_HEALTH_TIMEOUT: unknown variable of HealthModule; known: KEEL_HEALTH_TIMEOUT_MS',
        'HealthModule.redis (forRoot): must be one of: true, false, auto',
      ]),
    );
  });

  it('reads KEEL_HEALTH_TIMEOUT_MS as a whole number and refuses it empty', () => {
    expect(
      configProblems(() =>
        resolveHealthSettings({}, core({ env: { KEEL_HEALTH_TIMEOUT_MS: 'soon' } })),
      ),
    ).toEqual(["KEEL_HEALTH_TIMEOUT_MS: must be a whole number from 10 to 60000 (got 'soon')"]);
    expect(configProblems(() => core({ env: { KEEL_HEALTH_TIMEOUT_MS: '' } }))).toEqual([
      'KEEL_HEALTH_TIMEOUT_MS: is set but empty; give it a value or unset it',
    ]);
  });
});
