import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadKeelConfig } from './keel-config.js';
import {
  SettingsProblems,
  envVariableNames,
  resolveModuleSettings,
  settingSource,
  type ModuleSettingsSpec,
} from './module-settings.js';
import { configProblems } from '../../../../test/support/config-problems.js';

interface LocksLikeOptions {
  ttlMs?: number;
  fair?: boolean;
  keyPrefix?: string;
  nodes?: string[];
  fleet?: { flushIntervalMs?: number; refreshIntervalMs?: number };
  onEvent?: () => void;
}

const DEFAULTS = Object.freeze({
  ttlMs: 30_000,
  fair: false,
  keyPrefix: 'locks:',
  fleet: Object.freeze({ flushIntervalMs: 50, refreshIntervalMs: 1_000 }),
});

const schema: z.ZodType<LocksLikeOptions> = z
  .object({
    ttlMs: z.number().int().min(10).optional(),
    fair: z.boolean().optional(),
    keyPrefix: z.string().optional(),
    nodes: z.array(z.string()).optional(),
    fleet: z
      .object({
        flushIntervalMs: z.number().int().min(5).optional(),
        refreshIntervalMs: z.number().int().min(50).optional(),
      })
      .strict()
      .optional(),
    onEvent: z.custom<() => void>((v) => typeof v === 'function').optional(),
  })
  .strict();

const spec: ModuleSettingsSpec<LocksLikeOptions> = {
  section: 'locks',
  moduleName: 'LocksModule',
  schema,
  defaults: DEFAULTS,
  env: { ttlMs: 'integer', fair: 'boolean', nodes: 'list', 'fleet.flushIntervalMs': 'integer' },
};

function config(env: Record<string, string>, yaml?: string) {
  const file = yaml === undefined ? undefined : yamlFile(yaml);
  return loadKeelConfig({ env, file });
}

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keel-settings-')), 'keel.yaml');
  writeFileSync(file, text);
  return file;
}

describe('resolveModuleSettings', () => {
  it('names each environment variable after the section and the key path', () => {
    expect(envVariableNames(spec)).toEqual({
      ttlMs: 'KEEL_LOCKS_TTL_MS',
      fair: 'KEEL_LOCKS_FAIR',
      nodes: 'KEEL_LOCKS_NODES',
      'fleet.flushIntervalMs': 'KEEL_LOCKS_FLEET_FLUSH_INTERVAL_MS',
    });
  });

  it('gives the defaults when nothing is set', () => {
    expect(resolveModuleSettings(spec, {}, config({}))).toEqual(DEFAULTS);
  });

  it('applies forRoot > environment > YAML > default, per key', () => {
    const settings = resolveModuleSettings(
      spec,
      { ttlMs: 5_000 },
      config(
        { KEEL_LOCKS_TTL_MS: '7000', KEEL_LOCKS_FAIR: 'yes' },
        'locks:\n  ttlMs: 9000\n  fair: false\n  keyPrefix: "y:"\n  fleet:\n    refreshIntervalMs: 60\n',
      ),
    );
    expect(settings).toEqual({
      ttlMs: 5_000, // forRoot beats env and YAML
      fair: true, // env beats YAML
      keyPrefix: 'y:', // YAML beats the default
      fleet: { flushIntervalMs: 50, refreshIntervalMs: 60 }, // nested keys merge one by one
    });
  });

  it('merges nested objects key by key across every source', () => {
    const settings = resolveModuleSettings(
      spec,
      { fleet: { refreshIntervalMs: 500 } },
      config({ KEEL_LOCKS_FLEET_FLUSH_INTERVAL_MS: '10' }),
    );
    expect(settings.fleet).toEqual({ flushIntervalMs: 10, refreshIntervalMs: 500 });
  });

  it('replaces arrays and functions whole unless the spec combines them', () => {
    const onEvent = () => undefined;
    const replaced = resolveModuleSettings(
      spec,
      { nodes: ['b'], onEvent },
      config({ KEEL_LOCKS_NODES: 'a, c,' }),
    );
    expect(replaced.nodes).toEqual(['b']);
    expect(replaced.onEvent).toBe(onEvent);
    const union = (a: unknown, b: unknown) => [
      ...new Set([...(a as string[]), ...(b as string[])]),
    ];
    const combined = resolveModuleSettings(
      { ...spec, combine: { nodes: union } },
      { nodes: ['b'] },
      config({ KEEL_LOCKS_NODES: 'a, b' }),
    );
    expect(combined.nodes).toEqual(['a', 'b']);
  });

  it('leaves the frozen defaults untouched', () => {
    resolveModuleSettings(spec, { fleet: { flushIntervalMs: 6 } }, config({}));
    expect(DEFAULTS.fleet.flushIntervalMs).toBe(50);
  });

  it('ignores isGlobal and declared extras, which belong to the module definition', () => {
    const options = { ttlMs: 100, isGlobal: true, exceptionFilter: false } as LocksLikeOptions;
    expect(
      resolveModuleSettings({ ...spec, extras: ['exceptionFilter'] }, options, config({})).ttlMs,
    ).toBe(100);
  });

  it('reports every problem of every source at once, one line each, naming its source', () => {
    const file = yamlFile('locks:\n  ttlMs: 1\n');
    const problems = configProblems(() =>
      resolveModuleSettings(
        spec,
        { keyPrefix: 7 as unknown as string, fleet: { flushIntervalMs: 1 } },
        loadKeelConfig({
          file,
          env: {
            KEEL_LOCKS_TTL_MS: 'soon',
            KEEL_LOCKS_FAIR: 'maybe',
            KEEL_LOCKS_FLEET_FLUSH_INTERVAL_MS: '2',
            KEEL_LOCKS_TTL: '5',
          },
        }),
      ),
    );
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        `locks.ttlMs (${file}): must be a whole number, at least 10`,
        "KEEL_LOCKS_TTL_MS: must be a whole number, at least 10 (got 'soon')",
        "KEEL_LOCKS_FAIR: must be one of: true, false, 1, 0, yes, no (got 'maybe')",
        "KEEL_LOCKS_FLEET_FLUSH_INTERVAL_MS: must be a whole number, at least 5 (got '2')",
        expect.stringMatching(
          /^KEEL_LOCKS_TTL: unknown variable of LocksModule; known: KEEL_LOCKS_TTL_MS/,
        ),
        'LocksModule.keyPrefix (forRoot): must be a string',
        'LocksModule.fleet.flushIntervalMs (forRoot): must be a whole number, at least 5',
      ]),
    );
  });

  it('reports a module variable set but empty, like every Keel variable', () => {
    expect(configProblems(() => config({ KEEL_LOCKS_TTL_MS: ' ' }))).toEqual([
      'KEEL_LOCKS_TTL_MS: is set but empty; give it a value or unset it',
    ]);
  });

  it('leaves module variables to the module instead of calling them unknown Keel variables', () => {
    expect(config({ KEEL_LOCKS_TTL_MS: '100' }).moduleEnv).toEqual({ KEEL_LOCKS_TTL_MS: '100' });
    expect(configProblems(() => config({ KEEL_LOKCS_TTL_MS: '100' }))).toEqual([
      expect.stringMatching(/^KEEL_LOKCS_TTL_MS: unknown Keel variable/),
    ]);
  });
});

describe('settingSource', () => {
  const file = yamlFile('locks:\n  ttlMs: 500\n  fleet:\n    refreshIntervalMs: 100\n');
  const loaded = loadKeelConfig({ file, env: { KEEL_LOCKS_FAIR: 'true' } });

  it('names the source of the value in force, highest precedence first', () => {
    const options: LocksLikeOptions = { keyPrefix: 'x:', fleet: { flushIntervalMs: 20 } };
    expect(settingSource(spec, options, loaded, 'keyPrefix')).toBe(
      'LocksModule.keyPrefix (forRoot)',
    );
    expect(settingSource(spec, options, loaded, 'fleet.flushIntervalMs')).toBe(
      'LocksModule.fleet.flushIntervalMs (forRoot)',
    );
    expect(settingSource(spec, options, loaded, 'fair')).toBe('KEEL_LOCKS_FAIR');
    expect(settingSource(spec, options, loaded, 'ttlMs')).toBe(`locks.ttlMs (${file})`);
    expect(settingSource(spec, options, loaded, 'fleet.refreshIntervalMs')).toBe(
      `locks.fleet.refreshIntervalMs (${file})`,
    );
    expect(settingSource(spec, {}, loadKeelConfig({ env: {} }), 'ttlMs')).toBe(
      'LocksModule.ttlMs (default)',
    );
  });

  it('lets forRoot win over the environment and the YAML file, as the merge does', () => {
    expect(settingSource(spec, { fair: false, ttlMs: 100 }, loaded, 'fair')).toBe(
      'LocksModule.fair (forRoot)',
    );
    expect(settingSource(spec, { ttlMs: 100 }, loaded, 'ttlMs')).toBe(
      'LocksModule.ttlMs (forRoot)',
    );
  });
});

describe('SettingsProblems', () => {
  it('throws one KeelConfigError with every recorded problem', () => {
    const problems = new SettingsProblems();
    problems.throwIfAny();
    problems.add('RegistryModule.heartbeatMs (forRoot)', 'must be less than ttlMs (100)');
    problems.add('RegistryModule.checks (forRoot)', 'checks need `service`');
    expect(configProblems(() => problems.throwIfAny())).toEqual([
      'RegistryModule.heartbeatMs (forRoot): must be less than ttlMs (100)',
      'RegistryModule.checks (forRoot): checks need `service`',
    ]);
  });
});
