import { describe, expect, it } from '@jest/globals';
import { isKeelConfigError, loadKeelConfig, type KeelConfigError } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import { resolveRegistrySettings } from './registry.settings.js';
import type { RegistryModuleOptions } from './interfaces/registry-options.interface.js';

const core = (sections: Record<string, unknown> = {}, redis = false) => {
  const base = resolveCoreSettings({
    serviceName: 'orders',
    redis: redis ? 'redis://127.0.0.1:6379' : false,
    config: loadKeelConfig({ env: {} }),
  });
  return { ...base, config: { ...base.config, sections } };
};

describe('resolveRegistrySettings', () => {
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
