import { describe, expect, it } from '@jest/globals';
import { KeelConfigError, KeelDecoratorError } from '@keel/core';
import {
  resolveCoordinationSettings,
  resolvePolicyOptions,
  type CoordinationModuleOptions,
} from './coordination.options.js';

function problemsOf(yamlSection: unknown): readonly string[] {
  try {
    resolveCoordinationSettings({}, yamlSection);
  } catch (error) {
    expect(error).toBeInstanceOf(KeelConfigError);
    return (error as KeelConfigError).problems;
  }
  throw new Error('expected a KeelConfigError');
}

const policy = (kind: string, options: unknown) => ({ policies: { p: { [kind]: options } } });

describe('coordination settings messages name what is accepted', () => {
  it.each<[string, unknown, string]>([
    [
      'retry.backoff',
      policy('retry', { backoff: 'linear' }),
      'coordination.policies.p.retry.backoff (YAML configuration): must be one of: constant, exponential, decorrelated-jitter',
    ],
    [
      'retry.maxAttempts',
      policy('retry', { maxAttempts: 0 }),
      'coordination.policies.p.retry.maxAttempts (YAML configuration): must be a whole number from 1 to 1000',
    ],
    [
      'retry.factor',
      policy('retry', { factor: 0.5 }),
      'coordination.policies.p.retry.factor (YAML configuration): must be a number from 1 to 100',
    ],
    [
      'retry.delayMs',
      policy('retry', { delayMs: 'soon' }),
      'coordination.policies.p.retry.delayMs (YAML configuration): must be a whole number from 0 to 3600000',
    ],
    [
      'an unknown retry key',
      policy('retry', { attempts: 3 }),
      "coordination.policies.p.retry (YAML configuration): unknown key 'attempts'; known: maxAttempts, maxDurationMs, backoff, delayMs, maxDelayMs, factor, retryOn, abortOn, onRetry",
    ],
    [
      'retry.retryOn',
      policy('retry', { retryOn: 'Error' }),
      'coordination.policies.p.retry.retryOn (YAML configuration): must be a list of error classes or a predicate',
    ],
    [
      'circuitBreaker.slidingWindow',
      policy('circuitBreaker', { slidingWindow: 'sliding' }),
      'coordination.policies.p.circuitBreaker.slidingWindow (YAML configuration): must be one of: count, time',
    ],
    [
      'circuitBreaker.store',
      policy('circuitBreaker', { store: 'fleet' }),
      'coordination.policies.p.circuitBreaker.store (YAML configuration): must be one of: local, redis',
    ],
    [
      'circuitBreaker.failureRateThreshold',
      policy('circuitBreaker', { failureRateThreshold: 150 }),
      'coordination.policies.p.circuitBreaker.failureRateThreshold (YAML configuration): must be a number from 0 to 100',
    ],
    [
      'circuitBreaker.critical',
      policy('circuitBreaker', { critical: 'yes' }),
      'coordination.policies.p.circuitBreaker.critical (YAML configuration): must be one of: true, false',
    ],
    [
      'circuitBreaker.name',
      policy('circuitBreaker', { name: 'a b' }),
      'coordination.policies.p.circuitBreaker.name (YAML configuration): must be 1–100 letters, digits, . _ : -',
    ],
    [
      'timeout',
      policy('timeout', 'fast'),
      'coordination.policies.p.timeout (YAML configuration): must be a whole number from 1 to 86400000, or a mapping with keys ms, signalInContext',
    ],
    [
      'timeout.ms',
      policy('timeout', { ms: 0 }),
      'coordination.policies.p.timeout.ms (YAML configuration): must be a whole number from 1 to 86400000',
    ],
    [
      'bulkhead.scope',
      policy('bulkhead', { scope: 'global' }),
      'coordination.policies.p.bulkhead.scope (YAML configuration): must be one of: local, fleet',
    ],
    [
      'bulkhead.leaseMs',
      policy('bulkhead', { leaseMs: 10 }),
      'coordination.policies.p.bulkhead.leaseMs (YAML configuration): must be a whole number from 100 to 86400000',
    ],
    [
      'a policy that is not a mapping',
      { policies: { p: 'retry' } },
      'coordination.policies.p (YAML configuration): must be a mapping with keys retry, circuitBreaker, timeout, bulkhead',
    ],
    [
      'a policy name',
      { policies: { 'bad name': {} } },
      'coordination.policies.bad name (YAML configuration): invalid key: policy names are letters, digits, . _ -',
    ],
    [
      'fleet.flushIntervalMs',
      { fleet: { flushIntervalMs: 1 } },
      'coordination.fleet.flushIntervalMs (YAML configuration): must be a whole number from 5 to 10000',
    ],
    [
      'an unknown section key',
      { polices: {} },
      "coordination (YAML configuration): unknown key 'polices'; known: policies, validation, fleet",
    ],
  ])('%s', (_, yamlSection, message) => {
    expect(problemsOf(yamlSection)).toEqual([message]);
  });

  it('names the source of forRoot options the same way', () => {
    expect(() =>
      resolveCoordinationSettings(
        policy('retry', { backoff: 'linear' }) as CoordinationModuleOptions,
        undefined,
      ),
    ).toThrow(
      'coordination.policies.p.retry.backoff (CoordinationModule.forRoot options): must be one of: constant, exponential, decorrelated-jitter',
    );
  });

  it('names what is accepted in inline decorator options', () => {
    const settings = resolveCoordinationSettings({}, undefined);
    expect(() =>
      resolvePolicyOptions(settings, 'bulkhead', { scope: 'global' }, 'Orders.pay'),
    ).toThrow(
      new KeelDecoratorError(
        'Orders.pay: @Bulkhead options are invalid: scope: must be one of: local, fleet',
      ),
    );
  });
});
