import { describe, expect, it } from '@jest/globals';
import {
  isKeelConfigError,
  loadKeelConfig,
  resolveCoreSettings,
  type KeelConfigError,
} from '@keel/core';
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
    expect(problems).toMatch(/registry.*bogus|Unrecognized key/);
    expect(problems).toContain('RegistryModule.ttlMs');
    expect(problems).toContain('RegistryModule.secret');
    expect(problems).toContain('RegistryModule.checks.http.path');
    expect(problems).toContain('RegistryModule.strategy');
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
