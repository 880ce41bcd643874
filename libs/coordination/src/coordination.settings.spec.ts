import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { KeelDecoratorError, type KeelCoreSettings } from '@keel/core';
import { configProblems } from '../../../test/support/config-problems.js';
import { coreSettings } from '../../../test/support/core-settings.js';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import { DEFAULTS, resolveCoordinationSettings } from './coordination.settings.js';
import type { CoordinationModuleOptions } from './interfaces/coordination-options.interface.js';
import { resolvePolicyOptions } from './policy-options.js';

const OPTIONS_FILE = new URL('./interfaces/coordination-options.interface.ts', import.meta.url);

/** Core settings whose YAML file holds `section` as `coordination:` (JSON is YAML). */
function core(
  input: { section?: unknown; env?: Record<string, string>; redis?: boolean } = {},
): KeelCoreSettings {
  const { section, ...rest } = input;
  const yaml = section === undefined ? undefined : JSON.stringify({ coordination: section });
  return coreSettings({ ...rest, yaml });
}

const policy = (kind: string, options: unknown) => ({ policies: { p: { [kind]: options } } });

describe('CoordinationModule settings', () => {
  it('documents every default with the value DEFAULTS holds', () => {
    const { windowSize, ...breaker } = DEFAULTS.policy.circuitBreaker;
    const checks: [object, string][] = [
      [{ fleet: DEFAULTS.fleet, cache: DEFAULTS.cache }, 'CoordinationModuleOptions'],
      [DEFAULTS.policy.retry, 'RetryOptions'],
      [breaker, 'CircuitBreakerOptions'],
      [DEFAULTS.policy.timeout, 'TimeoutOptions'],
      [DEFAULTS.policy.bulkhead, 'BulkheadOptions'],
      [DEFAULTS.policy.rateLimit, 'RateLimitOptions'],
      [DEFAULTS.cache, 'CacheModuleOptions'],
      [DEFAULTS.policy.cached, 'CachedOptions'],
      [DEFAULTS.policy.cacheEvict, 'CacheEvictOptions'],
    ];
    for (const [defaults, name] of checks) {
      expect(undocumentedDefaults(defaults, documentedDefaults(OPTIONS_FILE, name))).toEqual([]);
    }
    // The window size depends on the window kind, so its TSDoc says it in words.
    const documented = documentedDefaults(OPTIONS_FILE, 'CircuitBreakerOptions').get('windowSize');
    expect(documented).toEqual({
      text: `${windowSize.count} (count), ${windowSize.time} (time)`,
    });
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.policy.circuitBreaker.windowSize)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.fleet)).toBe(true);
  });

  it('gives the defaults when nothing is set (forRoot() without options)', () => {
    expect(resolveCoordinationSettings(undefined, core())).toEqual({
      policies: {},
      validation: {},
      fleet: { flushIntervalMs: 50, refreshIntervalMs: 1_000, commandTimeoutMs: 500 },
      cache: {
        maxEntries: 10_000,
        maxBytes: 67_108_864,
        maxValueBytes: 1_048_576,
        leaseMs: 5_000,
        classes: {},
      },
    });
  });

  it('applies forRoot > the YAML section > default, per policy, kind and key', () => {
    const settings = resolveCoordinationSettings(
      {
        policies: { p: { retry: { maxAttempts: 2 }, timeout: { signalInContext: true } } },
        validation: { order: { type: 'string' } },
        fleet: { commandTimeoutMs: 100 },
      },
      core({
        section: {
          policies: {
            p: { retry: { maxAttempts: 5, delayMs: 7 }, timeout: 2_000 },
            q: { bulkhead: { maxConcurrent: 3 } },
          },
          validation: { order: { type: 'object', required: ['id'] }, item: { type: 'object' } },
          fleet: { flushIntervalMs: 20 },
        },
      }),
    );
    expect(settings.policies).toEqual({
      p: { retry: { maxAttempts: 2, delayMs: 7 }, timeout: { ms: 2_000, signalInContext: true } },
      q: { bulkhead: { maxConcurrent: 3 } },
    });
    // A rule set is one JSON Schema: forRoot's replaces the YAML's whole.
    expect(settings.validation).toEqual({
      order: { type: 'string' },
      item: { type: 'object' },
    });
    expect(settings.fleet).toEqual({
      flushIntervalMs: 20,
      refreshIntervalMs: 1_000,
      commandTimeoutMs: 100,
    });
  });

  it('reads no environment variable, and says so for a KEEL_COORDINATION_* one', () => {
    expect(
      configProblems(() =>
        resolveCoordinationSettings(
          {},
          core({ env: { KEEL_COORDINATION_FLEET_FLUSH_INTERVAL_MS: '20' } }),
        ),
      ),
    ).toEqual([
      'KEEL_COORDINATION_FLEET_FLUSH_INTERVAL_MS: unknown variable of CoordinationModule; known: none',
    ]);
  });

  it("refuses a named policy's store: 'redis' when KeelCoreModule has no Redis, naming its source", () => {
    const payments = { policies: { payments: { circuitBreaker: { store: 'redis' } } } } as const;
    expect(configProblems(() => resolveCoordinationSettings(payments, core()))).toEqual([
      expect.stringMatching(
        /^CoordinationModule\.policies\.payments\.circuitBreaker\.store \(forRoot\): 'redis' needs Redis, and none is configured; set REDIS_URL/,
      ),
    ]);
    const yaml = core({ section: payments });
    expect(configProblems(() => resolveCoordinationSettings({}, yaml))).toEqual([
      `coordination.policies.payments.circuitBreaker.store (${yaml.config.file}): 'redis' needs Redis, and none is configured; set REDIS_URL (or KEEL_REDIS_URL), pass KeelCoreModule.forRoot({ redis }), or leave the option out to use the embedded memory store`,
    ]);
    expect(resolveCoordinationSettings(payments, core({ redis: true })).policies.payments).toEqual({
      circuitBreaker: { store: 'redis' },
    });
  });
});

describe('coordination settings messages name what is accepted', () => {
  it.each<[string, unknown, string]>([
    [
      'retry.backoff',
      policy('retry', { backoff: 'linear' }),
      'coordination.policies.p.retry.backoff (FILE): must be one of: constant, exponential, decorrelated-jitter',
    ],
    [
      'retry.maxAttempts',
      policy('retry', { maxAttempts: 0 }),
      'coordination.policies.p.retry.maxAttempts (FILE): must be a whole number from 1 to 1000',
    ],
    [
      'retry.factor',
      policy('retry', { factor: 0.5 }),
      'coordination.policies.p.retry.factor (FILE): must be a number from 1 to 100',
    ],
    [
      'retry.delayMs',
      policy('retry', { delayMs: 'soon' }),
      'coordination.policies.p.retry.delayMs (FILE): must be a whole number from 0 to 3600000',
    ],
    [
      'an unknown retry key',
      policy('retry', { attempts: 3 }),
      "coordination.policies.p.retry (FILE): unknown key 'attempts'; known: maxAttempts, maxDurationMs, backoff, delayMs, maxDelayMs, factor, retryOn, abortOn, onRetry",
    ],
    [
      'retry.retryOn',
      policy('retry', { retryOn: 'Error' }),
      'coordination.policies.p.retry.retryOn (FILE): must be a list of error classes or a predicate',
    ],
    [
      'circuitBreaker.slidingWindow',
      policy('circuitBreaker', { slidingWindow: 'sliding' }),
      'coordination.policies.p.circuitBreaker.slidingWindow (FILE): must be one of: count, time',
    ],
    [
      'circuitBreaker.store',
      policy('circuitBreaker', { store: 'fleet' }),
      'coordination.policies.p.circuitBreaker.store (FILE): must be one of: local, redis',
    ],
    [
      'circuitBreaker.failureRateThreshold',
      policy('circuitBreaker', { failureRateThreshold: 150 }),
      'coordination.policies.p.circuitBreaker.failureRateThreshold (FILE): must be a number from 0 to 100',
    ],
    [
      'circuitBreaker.critical',
      policy('circuitBreaker', { critical: 'yes' }),
      'coordination.policies.p.circuitBreaker.critical (FILE): must be one of: true, false',
    ],
    [
      'circuitBreaker.name',
      policy('circuitBreaker', { name: 'a b' }),
      'coordination.policies.p.circuitBreaker.name (FILE): must be 1–100 letters, digits, . _ : -',
    ],
    [
      'timeout',
      policy('timeout', 'fast'),
      'coordination.policies.p.timeout (FILE): must be a whole number from 1 to 86400000, or a mapping with keys ms, signalInContext',
    ],
    [
      'timeout.ms',
      policy('timeout', { ms: 0 }),
      'coordination.policies.p.timeout.ms (FILE): must be a whole number from 1 to 86400000',
    ],
    [
      'bulkhead.scope',
      policy('bulkhead', { scope: 'global' }),
      'coordination.policies.p.bulkhead.scope (FILE): must be one of: local, fleet',
    ],
    [
      'bulkhead.leaseMs',
      policy('bulkhead', { leaseMs: 10 }),
      'coordination.policies.p.bulkhead.leaseMs (FILE): must be a whole number from 100 to 86400000',
    ],
    [
      'a policy that is not a mapping',
      { policies: { p: 'retry' } },
      'coordination.policies.p (FILE): must be a mapping with keys retry, circuitBreaker, timeout, bulkhead, rateLimit',
    ],
    [
      'a policy name',
      { policies: { 'bad name': {} } },
      'coordination.policies.bad name (FILE): invalid key: policy names are letters, digits, . _ -',
    ],
    [
      'fleet.flushIntervalMs',
      { fleet: { flushIntervalMs: 1 } },
      'coordination.fleet.flushIntervalMs (FILE): must be a whole number from 5 to 10000',
    ],
    [
      'an unknown section key',
      { polices: {} },
      "coordination (FILE): unknown key 'polices'; known: policies, validation, fleet, cache",
    ],
  ])('%s', (_, section, message) => {
    const settings = core({ section });
    expect(configProblems(() => resolveCoordinationSettings({}, settings))).toEqual([
      message.replace('FILE', settings.config.file ?? ''),
    ]);
  });

  it('names the source of forRoot options the same way', () => {
    expect(
      configProblems(() =>
        resolveCoordinationSettings(
          policy('retry', { backoff: 'linear' }) as CoordinationModuleOptions,
          core(),
        ),
      ),
    ).toEqual([
      'CoordinationModule.policies.p.retry.backoff (forRoot): must be one of: constant, exponential, decorrelated-jitter',
    ]);
  });

  it('names what is accepted in inline decorator options', () => {
    const settings = resolveCoordinationSettings({}, core());
    expect(() =>
      resolvePolicyOptions({
        settings,
        kind: 'bulkhead',
        ref: { scope: 'global' },
        label: 'Orders.pay',
      }),
    ).toThrow(
      new KeelDecoratorError(
        'Orders.pay: @Bulkhead options are invalid: scope: must be one of: local, fleet',
      ),
    );
  });
});
