import { describe, expect, it } from '@jest/globals';
import { KeelConfigError, loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { LocksModuleOptions } from './interfaces/locks-options.interface.js';
import { resolveLocksSettings } from './locks.providers.js';

const core = (locks?: unknown) => {
  const base = resolveCoreSettings({ redis: false, config: loadKeelConfig({ env: {} }) });
  return { ...base, config: { ...base.config, sections: locks === undefined ? {} : { locks } } };
};

function problemsOf(options: unknown, yaml?: unknown): readonly string[] {
  try {
    resolveLocksSettings(options as LocksModuleOptions, core(yaml));
  } catch (error) {
    expect(error).toBeInstanceOf(KeelConfigError);
    return (error as KeelConfigError).problems;
  }
  throw new Error('expected a KeelConfigError');
}

describe('locks settings messages name what is accepted', () => {
  it.each<[string, unknown, string]>([
    [
      'store',
      { store: 'mem' },
      'LocksModule.store (forRoot): must be one of: memory, redis, or a mapping with keys quorum, clockDriftFactor, nodeTimeoutMs',
    ],
    [
      'store.quorum',
      { store: { quorum: [] } },
      'LocksModule.store.quorum (forRoot): needs at least one node (3 or 5 recommended)',
    ],
    [
      'a quorum node',
      { store: { quorum: [6379] } },
      'LocksModule.store (forRoot): must be one of: memory, redis, or a mapping with keys quorum, clockDriftFactor, nodeTimeoutMs; quorum.0: must be a Redis URL or ioredis options',
    ],
    [
      'store.clockDriftFactor',
      { store: { quorum: ['redis://a'], clockDriftFactor: 1 } },
      'LocksModule.store.clockDriftFactor (forRoot): must be a number from 0 to 0.5',
    ],
    [
      'store.nodeTimeoutMs',
      { store: { quorum: ['redis://a'], nodeTimeoutMs: 0 } },
      'LocksModule.store.nodeTimeoutMs (forRoot): must be a whole number, above 0',
    ],
    ['ttlMs', { ttlMs: 5 }, 'LocksModule.ttlMs (forRoot): must be a whole number, at least 10'],
    ['waitMs', { waitMs: -1 }, 'LocksModule.waitMs (forRoot): must be a whole number, at least 0'],
    ['fair', { fair: 'yes' }, 'LocksModule.fair (forRoot): must be one of: true, false'],
    ['keyPrefix', { keyPrefix: 5 }, 'LocksModule.keyPrefix (forRoot): must be a string'],
    [
      'an unknown key',
      { ttl: 5 },
      "LocksModule (forRoot): unknown key 'ttl'; known: store, ttlMs, autoRenew, waitMs, fair, reentrant, deadlockDetection, keyPrefix",
    ],
  ])('%s', (_, options, message) => {
    expect(problemsOf(options)).toEqual([message]);
  });

  it('names the YAML section the same way', () => {
    expect(problemsOf({}, { store: 'mem', reentrant: 'no' })).toEqual([
      'locks.store (YAML): must be one of: memory, redis, or a mapping with keys quorum, clockDriftFactor, nodeTimeoutMs',
      'locks.reentrant (YAML): must be one of: true, false',
    ]);
  });
});
