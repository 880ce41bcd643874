import { describe, expect, it } from '@jest/globals';
import { isKeelConfigError, loadKeelConfig, type KeelConfigError } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import {
  DEFAULTS,
  PROBE_DEFAULTS,
  SERVICE_DEFAULTS,
  resolveRegistrySettings,
} from './registry.settings.js';
import type { RegistryModuleOptions } from './interfaces/registry-options.interface.js';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import { configProblems } from '../../../test/support/config-problems.js';

const OPTIONS_FILE = new URL('./interfaces/registry-options.interface.ts', import.meta.url);

const core = (sections: Record<string, unknown> = {}, redis = false) => {
  const base = resolveCoreSettings({
    serviceName: 'orders',
    redis: redis ? 'redis://127.0.0.1:6379' : false,
    config: loadKeelConfig({ env: {} }),
  });
  return { ...base, config: { ...base.config, sections } };
};

const coreWithEnv = (env: Record<string, string>, sections: Record<string, unknown> = {}) => {
  const base = resolveCoreSettings({
    serviceName: 'orders',
    redis: false,
    config: loadKeelConfig({ env }),
  });
  return { ...base, config: { ...base.config, sections } };
};

describe('resolveRegistrySettings', () => {
  it('applies forRoot > KEEL_REGISTRY_* > the YAML section > DEFAULTS, per key', () => {
    const env = { KEEL_REGISTRY_TTL_MS: '9000', KEEL_REGISTRY_DRAIN_MS: '300' };
    const yaml = { registry: { ttlMs: 6_000, drainMs: 10, resyncMs: 700 } };
    expect(resolveRegistrySettings({}, coreWithEnv(env, yaml))).toMatchObject({
      ttlMs: 9_000,
      heartbeatMs: 3_000,
      drainMs: 300,
      resyncMs: 700,
    });
    expect(resolveRegistrySettings({ drainMs: 5 }, coreWithEnv(env, yaml))).toMatchObject({
      ttlMs: 9_000,
      drainMs: 5,
    });
    const secret = 'an-env-secret-0123456789';
    expect(resolveRegistrySettings({}, coreWithEnv({ KEEL_REGISTRY_SECRET: secret })).secret).toBe(
      secret,
    );
  });

  it("reports KEEL_REGISTRY_* problems, never with the secret's text", () => {
    const problems = configProblems(() =>
      resolveRegistrySettings(
        {},
        coreWithEnv({
          KEEL_REGISTRY_SECRET: 'too-short',
          KEEL_REGISTRY_HEARTBEAT_MS: 'often',
          KEEL_REGISTRY_TTL: '5',
        }),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'KEEL_REGISTRY_SECRET: must be at least 16 characters',
        "KEEL_REGISTRY_HEARTBEAT_MS: must be a whole number from 10 to 3600000 (got 'often')",
        expect.stringMatching(/^KEEL_REGISTRY_TTL: unknown variable of RegistryModule; known: /),
      ]),
    );
    expect(problems.join('\n')).not.toContain('too-short');
  });

  it('documents every default with the value DEFAULTS holds', () => {
    expect(
      undocumentedDefaults(
        {
          ...DEFAULTS,
          service: SERVICE_DEFAULTS,
          checks: { ...DEFAULTS.checks, ...PROBE_DEFAULTS },
        },
        documentedDefaults(OPTIONS_FILE, 'RegistryModuleOptions'),
      ),
    ).toEqual([]);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.checks)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.outlier)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.discover)).toBe(true);
    expect(Object.isFrozen(SERVICE_DEFAULTS.tags)).toBe(true);
    expect(Object.isFrozen(PROBE_DEFAULTS.http)).toBe(true);
  });

  it("refuses store: 'redis' when KeelCoreModule has no Redis, with core's message", () => {
    expect(configProblems(() => resolveRegistrySettings({ store: 'redis' }, core()))).toEqual([
      expect.stringMatching(
        /^RegistryModule\.store \(forRoot\): 'redis' needs Redis, and none is configured; set REDIS_URL/,
      ),
    ]);
    expect(resolveRegistrySettings({ store: 'redis' }, core({}, true)).store).toBe('redis');
  });

  it('applies forRoot > the YAML section > DEFAULTS per key; service merges key by key', () => {
    const yaml = {
      registry: {
        ttlMs: 6_000,
        drainMs: 10,
        service: { name: 'from-yaml', version: '2.0.0' },
        discover: ['a', 'b'],
      },
    };
    const s = resolveRegistrySettings(
      { drainMs: 20, service: { version: '3.0.0' }, discover: ['b', 'c'] },
      core(yaml),
    );
    expect(s.ttlMs).toBe(6_000);
    expect(s.heartbeatMs).toBe(2_000);
    expect(s.recoveryMs).toBe(6_000);
    expect(s.drainMs).toBe(20);
    expect(s.resyncMs).toBe(DEFAULTS.resyncMs);
    expect(s.service).toMatchObject({ name: 'from-yaml', version: '3.0.0' });
    expect(s.discover).toEqual(['a', 'b', 'c']);
    expect(s.outlier).toEqual(DEFAULTS.outlier);
    expect(resolveRegistrySettings({ outlier: { failures: 9 } }, core()).outlier).toEqual({
      ...DEFAULTS.outlier,
      failures: 9,
    });
  });

  it('names the source of a cross-key problem', () => {
    expect(
      configProblems(() =>
        resolveRegistrySettings(
          { service: {} },
          core({ registry: { ttlMs: 1_000, heartbeatMs: 1_000 } }),
        ),
      ),
    ).toEqual(['registry.heartbeatMs (YAML): must be less than ttlMs (1000)']);
    expect(
      configProblems(() =>
        resolveRegistrySettings({ outlier: { ejectMs: 5_000, maxEjectMs: 1_000 } }, core()),
      ),
    ).toEqual(['RegistryModule.outlier.maxEjectMs (forRoot): must be at least ejectMs']);
  });

  it('never shows the secret in a problem', () => {
    const secret = 'short-secret';
    const problems = configProblems(() =>
      resolveRegistrySettings({ secret }, core({ registry: { secret: 'a-secret-in-yaml-0123' } })),
    );
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems.join('\n')).not.toContain('a-secret-in-yaml-0123');
    expect(problems).toEqual(
      expect.arrayContaining(['RegistryModule.secret (forRoot): must be at least 16 characters']),
    );
  });

  it('refuses unknown forRoot keys', () => {
    expect(
      configProblems(() =>
        resolveRegistrySettings({ ttl: 5 } as unknown as RegistryModuleOptions, core()),
      ),
    ).toEqual([expect.stringMatching(/^RegistryModule \(forRoot\): unknown key 'ttl'; known: /)]);
  });

  it('applies defaults', () => {
    const s = resolveRegistrySettings({ service: {} }, core());
    expect(s.store).toBe('memory');
    expect(s.service).toMatchObject({ name: 'orders', version: '0.0.0', weight: 1, tags: [] });
    expect(s.service!.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.ttlMs).toBe(15_000);
    expect(s.heartbeatMs).toBe(5_000);
    expect(s.drainMs).toBe(2_000);
    expect(s.deregisterOnShutdown).toBe(true);
    expect(s.checks).toMatchObject({
      intervalMs: 5_000,
      failuresBeforeCritical: 2,
      successesBeforePassing: 2,
    });
    expect(s.recoveryMs).toBe(15_000);
    expect(resolveRegistrySettings({}, core({}, true)).store).toBe('redis');
    expect(resolveRegistrySettings({}, core()).service).toBeUndefined();
  });

  it('reads the YAML section; options win', () => {
    const s = resolveRegistrySettings(
      { ttlMs: 9_000 },
      core({ registry: { ttlMs: 3_000, drainMs: 10, discover: ['pay'] } }),
    );
    expect(s.ttlMs).toBe(9_000);
    expect(s.drainMs).toBe(10);
    expect(s.discover).toEqual(['pay']);
  });

  it('reports every problem, one line each', () => {
    let error: unknown;
    try {
      resolveRegistrySettings(
        {
          ttlMs: 5,
          secret: 'short',
          checks: { http: { path: 'health' } },
          strategy: 'fastest',
        } as unknown as RegistryModuleOptions,
        core({ registry: { bogus: 1 } }),
      );
    } catch (e) {
      error = e;
    }
    expect(isKeelConfigError(error)).toBe(true);
    const problems = (error as KeelConfigError).problems.join('\n');
    expect(problems).toMatch(/registry.*unknown key 'bogus'/);
    expect(problems).toContain('RegistryModule.ttlMs');
    expect(problems).toContain('RegistryModule.secret');
    expect(problems).toContain('RegistryModule.checks.http.path');
    expect(problems).toContain('RegistryModule.strategy');
  });

  const problemsOf = (options: unknown, yaml?: unknown): readonly string[] => {
    try {
      resolveRegistrySettings(
        options as RegistryModuleOptions,
        core(yaml === undefined ? {} : { registry: yaml }),
      );
    } catch (e) {
      expect(isKeelConfigError(e)).toBe(true);
      return (e as KeelConfigError).problems;
    }
    throw new Error('expected a KeelConfigError');
  };

  it.each<[string, unknown, string]>([
    [
      'strategy',
      { strategy: 'fastest' },
      'RegistryModule.strategy (forRoot): must be one of: round-robin, random, weighted, least-outstanding, consistent-hash, zone',
    ],
    [
      'store',
      { store: 'mem' },
      'RegistryModule.store (forRoot): must be one of: memory, redis, or a RegistryStore',
    ],
    [
      'ttlMs',
      { ttlMs: 5 },
      'RegistryModule.ttlMs (forRoot): must be a whole number from 100 to 3600000',
    ],
    [
      'secret',
      { secret: 'short' },
      'RegistryModule.secret (forRoot): must be at least 16 characters',
    ],
    [
      'checks.http.path',
      { service: {}, checks: { http: { path: 'health' } } },
      'RegistryModule.checks.http.path (forRoot): must start with /',
    ],
    [
      'checks.http.expectStatus',
      { service: {}, checks: { http: { path: '/h', expectStatus: 600 } } },
      'RegistryModule.checks.http.expectStatus (forRoot): must be a whole number from 100 to 599',
    ],
    [
      'an unknown checks key',
      { service: {}, checks: { grpc: {} } },
      "RegistryModule.checks (forRoot): unknown key 'grpc'; known: http, tcp, custom, intervalMs, failuresBeforeCritical, successesBeforePassing",
    ],
    [
      'service.name',
      { service: { name: 'a b' } },
      'RegistryModule.service.name (forRoot): must be 1–63 letters, digits, dots, dashes or underscores',
    ],
    [
      'service.weight',
      { service: { weight: -1 } },
      'RegistryModule.service.weight (forRoot): must be a number from 0 to 1000000',
    ],
    [
      'service.tags',
      { service: { tags: 'http' } },
      'RegistryModule.service.tags (forRoot): must be a list (each a string of 1 to 128 characters)',
    ],
    [
      'address.port',
      { address: { port: 70_000 } },
      'RegistryModule.address.port (forRoot): must be a whole number from 0 to 65535',
    ],
    [
      'deregisterOnShutdown',
      { deregisterOnShutdown: 'no' },
      'RegistryModule.deregisterOnShutdown (forRoot): must be one of: true, false',
    ],
    [
      'discover',
      { discover: 'payments' },
      'RegistryModule.discover (forRoot): must be a list (each 1–63 letters, digits, dots, dashes or underscores)',
    ],
  ])('names what is accepted: %s', (_, options, message) => {
    expect(problemsOf(options)).toEqual([message]);
  });

  it('names what is accepted in the YAML section', () => {
    expect(problemsOf({}, { bogus: 1, heartbeatMs: 'often' })).toEqual([
      'registry.heartbeatMs (YAML): must be a whole number from 10 to 3600000',
      "registry (YAML): unknown key 'bogus'; known: service, ttlMs, heartbeatMs, drainMs, resyncMs, emptyConfirmMs, discover",
    ]);
  });

  it('rejects heartbeat >= ttl and checks without a service', () => {
    expect(() =>
      resolveRegistrySettings({ service: {}, ttlMs: 1_000, heartbeatMs: 1_000 }, core()),
    ).toThrow(/heartbeatMs/);
    expect(() => resolveRegistrySettings({ checks: { http: { path: '/h' } } }, core())).toThrow(
      /checks need/,
    );
  });
});
