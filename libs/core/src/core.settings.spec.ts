import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import { configProblems } from '../../../test/support/config-problems.js';
import { loadKeelConfig } from './config/keel-config.js';
import { resolveRequestContextSettings } from './context/request-context.settings.js';
import {
  CONFIG_DEFAULTS,
  DEFAULTS,
  EXTRAS_DEFAULTS,
  resolveCoreSettings,
} from './core.settings.js';
import type { KeelCoreOptions } from './interfaces/core-options.interface.js';

const OPTIONS_FILE = new URL('./interfaces/core-options.interface.ts', import.meta.url);
const CONFIG_FILE = new URL('./config/keel-config.ts', import.meta.url);

function config(input: { env?: Record<string, string>; yaml?: string } = {}) {
  let file: string | undefined;
  if (input.yaml !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'keel-core-')), 'keel.yaml');
    writeFileSync(file, input.yaml);
  }
  return loadKeelConfig({ env: input.env ?? {}, file });
}

function isDeeplyFrozen(value: object): boolean {
  return (
    Object.isFrozen(value) &&
    Object.values(value).every((v) => typeof v !== 'object' || v === null || isDeeplyFrozen(v))
  );
}

describe('KeelCoreModule settings', () => {
  it('documents every default with the value DEFAULTS holds', () => {
    expect(
      undocumentedDefaults(DEFAULTS, documentedDefaults(OPTIONS_FILE, 'KeelCoreOptions')),
    ).toEqual([]);
    expect(
      undocumentedDefaults(
        EXTRAS_DEFAULTS,
        documentedDefaults(OPTIONS_FILE, 'KeelCoreModuleExtras'),
      ),
    ).toEqual([]);
    expect(
      undocumentedDefaults(CONFIG_DEFAULTS, documentedDefaults(CONFIG_FILE, 'KeelConfig')),
    ).toEqual([]);
    for (const defaults of [DEFAULTS, EXTRAS_DEFAULTS, CONFIG_DEFAULTS]) {
      expect(isDeeplyFrozen(defaults)).toBe(true);
    }
  });

  it('gives the defaults when nothing is set', () => {
    const loaded = config();
    expect(resolveCoreSettings({ config: loaded })).toEqual({
      serviceName: 'keel-service',
      redis: undefined,
      redisKeyPrefix: 'keel:',
      config: loaded,
    });
    expect(loaded).toMatchObject({ port: 3_000, defaultMetrics: false });
    expect(resolveRequestContextSettings(undefined)).toMatchObject({
      tenantHeader: 'x-tenant-id',
      interceptor: 'auto',
    });
  });

  it('applies forRoot > environment > YAML > default, per key', () => {
    const yaml = 'service:\n  name: from-yaml\nredis:\n  keyPrefix: "yaml:"\n';
    const env = { KEEL_SERVICE_NAME: 'from-env' };
    expect(resolveCoreSettings({ config: config({ yaml }) })).toMatchObject({
      serviceName: 'from-yaml',
      redisKeyPrefix: 'yaml:',
    });
    expect(resolveCoreSettings({ config: config({ yaml, env }) })).toMatchObject({
      serviceName: 'from-env',
      redisKeyPrefix: 'yaml:',
    });
    expect(
      resolveCoreSettings({ serviceName: 'from-options', config: config({ yaml, env }) }),
    ).toMatchObject({ serviceName: 'from-options', redisKeyPrefix: 'yaml:' });
    expect(
      resolveCoreSettings({ redisKeyPrefix: 'options:', config: config({ yaml, env }) }),
    ).toMatchObject({ serviceName: 'from-env', redisKeyPrefix: 'options:' });
  });

  it('takes Redis from the options over REDIS_URL, and redis: false over both', () => {
    const withUrl = config({ env: { REDIS_URL: 'redis://127.0.0.1:6390' } });
    expect(resolveCoreSettings({ config: withUrl }).redis).toBe('redis://127.0.0.1:6390');
    expect(resolveCoreSettings({ redis: 'redis://127.0.0.1:6391', config: withUrl }).redis).toBe(
      'redis://127.0.0.1:6391',
    );
    expect(
      resolveCoreSettings({ redis: { host: '127.0.0.1', port: 6392 }, config: withUrl }).redis,
    ).toEqual({ host: '127.0.0.1', port: 6392 });
    expect(resolveCoreSettings({ redis: false, config: withUrl }).redis).toBeUndefined();
  });

  it('reports every invalid option at once, one line each, naming the key and what is accepted', () => {
    const options = {
      serviceName: 'two words',
      redis: 'http://127.0.0.1:6379',
      redisKeyPrefix: 7,
      metrics: { defaultMetrics: 'yes' },
      config: config(),
      colour: 'blue',
    } as unknown as KeelCoreOptions;
    const problems = configProblems(() => resolveCoreSettings(options));
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        'KeelCoreModule.serviceName (forRoot): must be 1–63 letters, digits, dots, dashes or underscores',
        'KeelCoreModule.redis (forRoot): must be a redis:// or rediss:// URL',
        'KeelCoreModule.redisKeyPrefix (forRoot): must be a string of at most 64 characters',
        'KeelCoreModule.metrics.defaultMetrics (forRoot): must be one of: true, false',
        "KeelCoreModule (forRoot): unknown key 'colour'; known: serviceName, redis, redisKeyPrefix, metrics, context, config",
      ]),
    );
  });
});
