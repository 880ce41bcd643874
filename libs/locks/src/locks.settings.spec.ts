import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import type { KeelCoreSettings } from '@keel/core';
import { configProblems } from '../../../test/support/config-problems.js';
import { coreSettings } from '../../../test/support/core-settings.js';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import type { LocksModuleOptions } from './interfaces/locks-options.interface.js';
import { DEFAULTS, QUORUM_DEFAULTS, resolveLocksSettings } from './locks.settings.js';

const OPTIONS_FILE = new URL('./interfaces/locks-options.interface.ts', import.meta.url);

/** Core settings from the given environment and YAML text. */
const core = coreSettings;

/** Settings with the YAML section given as a value (no file: sources read `YAML`). */
function withSection(locks: unknown): KeelCoreSettings {
  const base = core();
  return { ...base, config: { ...base.config, sections: { locks } } };
}

const problemsOf = (options: unknown, yaml?: unknown) =>
  configProblems(() =>
    resolveLocksSettings(
      options as LocksModuleOptions,
      yaml === undefined ? core() : withSection(yaml),
    ),
  );

describe('LocksModule settings', () => {
  it('documents every default with the value DEFAULTS holds', () => {
    expect(
      undocumentedDefaults(DEFAULTS, documentedDefaults(OPTIONS_FILE, 'LocksModuleOptions')),
    ).toEqual([]);
    expect(
      undocumentedDefaults(QUORUM_DEFAULTS, documentedDefaults(OPTIONS_FILE, 'QuorumStoreOptions')),
    ).toEqual([]);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(QUORUM_DEFAULTS)).toBe(true);
  });

  it('gives the defaults when nothing is set, on memory without Redis and on Redis with it', () => {
    const defaults = {
      ttlMs: 30_000,
      autoRenew: true,
      waitMs: 10_000,
      fair: false,
      reentrant: false,
      deadlockDetection: true,
      keyPrefix: 'locks:',
    };
    expect(resolveLocksSettings({}, core())).toEqual({ ...defaults, store: 'memory' });
    expect(resolveLocksSettings({}, core({ redis: true }))).toEqual({
      ...defaults,
      store: 'redis',
    });
  });

  it('applies forRoot > the YAML section > default, per key', () => {
    const yaml = 'locks:\n  ttlMs: 3000\n  waitMs: 300\n  fair: true\n  store: memory\n';
    expect(resolveLocksSettings({}, core({ yaml, redis: true }))).toMatchObject({
      store: 'memory',
      ttlMs: 3_000,
      waitMs: 300,
      fair: true,
      reentrant: false,
    });
    expect(resolveLocksSettings({ waitMs: 100, fair: false }, core({ yaml }))).toMatchObject({
      ttlMs: 3_000,
      waitMs: 100,
      fair: false,
      reentrant: false,
      autoRenew: true,
    });
  });

  it('reads KEEL_LOCKS_TTL_MS and KEEL_LOCKS_WAIT_MS between forRoot and the YAML section', () => {
    const yaml = 'locks:\n  ttlMs: 3000\n  waitMs: 300\n';
    const env = { KEEL_LOCKS_TTL_MS: '4000', KEEL_LOCKS_WAIT_MS: '400' };
    expect(resolveLocksSettings({}, core({ yaml, env }))).toMatchObject({
      ttlMs: 4_000,
      waitMs: 400,
    });
    expect(resolveLocksSettings({ waitMs: 50 }, core({ yaml, env }))).toMatchObject({
      ttlMs: 4_000,
      waitMs: 50,
    });
  });

  it('reports a bad or unknown KEEL_LOCKS_* variable, naming the known ones', () => {
    expect(
      configProblems(() =>
        resolveLocksSettings(
          {},
          core({ env: { KEEL_LOCKS_TTL_MS: 'soon', KEEL_LOCKS_FAIR: '1' } }),
        ),
      ),
    ).toEqual([
      'KEEL_LOCKS_FAIR: unknown variable of LocksModule; known: KEEL_LOCKS_TTL_MS, KEEL_LOCKS_WAIT_MS',
      "KEEL_LOCKS_TTL_MS: must be a whole number, at least 10 (got 'soon')",
    ]);
  });

  it('fills in the quorum defaults, keeping what is given', () => {
    expect(resolveLocksSettings({ store: { quorum: ['redis://a'] } }, core()).store).toEqual({
      quorum: ['redis://a'],
      clockDriftFactor: 0.01,
      nodeTimeoutMs: 250,
    });
    expect(
      resolveLocksSettings({ store: { quorum: ['redis://a'], nodeTimeoutMs: 90 } }, core()).store,
    ).toEqual({ quorum: ['redis://a'], clockDriftFactor: 0.01, nodeTimeoutMs: 90 });
  });

  it("refuses store 'redis' when KeelCoreModule has no Redis, naming where it was asked for", () => {
    expect(problemsOf({ store: 'redis' })).toEqual([
      expect.stringMatching(
        /^LocksModule\.store \(forRoot\): 'redis' needs Redis, and none is configured; set REDIS_URL/,
      ),
    ]);
    const yaml = core({ yaml: 'locks:\n  store: redis\n' });
    expect(configProblems(() => resolveLocksSettings({}, yaml))).toEqual([
      expect.stringMatching(
        new RegExp(`^locks\\.store \\(${yaml.config.file}\\): 'redis' needs Redis`),
      ),
    ]);
  });

  it('reports every problem of every source at once, one line each', () => {
    const settings = core({
      yaml: 'locks:\n  fair: maybe\n  ttl: 5\n',
      env: { KEEL_LOCKS_TTL: '5' },
    });
    const file = settings.config.file;
    const problems = configProblems(() =>
      resolveLocksSettings({ waitMs: -1 } as LocksModuleOptions, settings),
    );
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        `locks.fair (${file}): must be one of: true, false`,
        expect.stringMatching(new RegExp(`^locks \\(${file}\\): unknown key 'ttl'`)),
        'KEEL_LOCKS_TTL: unknown variable of LocksModule; known: KEEL_LOCKS_TTL_MS, KEEL_LOCKS_WAIT_MS',
        'LocksModule.waitMs (forRoot): must be a whole number, at least 0',
      ]),
    );
  });
});

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
