import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ValidationFailedError } from '../coordination.errors.js';
import type { CircuitBreakerOptions } from '../interfaces/coordination-options.interface.js';
import { resolveBreakerPolicy } from './circuit-breaker.policy.js';
import {
  CircuitBreaker,
  PERMIT_CALL,
  PERMIT_PROBE,
  PERMIT_REJECTED,
  type BreakerStateChangeEvent,
} from './circuit-breaker.js';

function breaker(options: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(resolveBreakerPolicy(options, 'test'));
}

function call(b: CircuitBreaker, outcome: 'ok' | 'fail' | 'slow' | Error, durationMs = 1): number {
  const permit = b.acquire() as number;
  if (permit === PERMIT_REJECTED) return permit;
  if (outcome === 'ok') b.success(permit, durationMs);
  else if (outcome === 'slow') b.success(permit, 10_000);
  else b.failure(permit, outcome === 'fail' ? new Error('boom') : outcome, durationMs);
  return permit;
}

describe('CircuitBreaker state machine', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('count window: opens at the failure-rate threshold once minimumCalls is reached', () => {
    const b = breaker({ windowSize: 10, minimumCalls: 4, failureRateThreshold: 50 });
    call(b, 'fail');
    call(b, 'fail');
    call(b, 'fail');
    expect(b.state).toBe('closed'); // 3 calls < minimumCalls
    call(b, 'ok');
    expect(b.state).toBe('closed'); // success never trips
    call(b, 'fail'); // 4 failures of 5 = 80 %
    expect(b.state).toBe('open');
    expect(b.acquire()).toBe(PERMIT_REJECTED);
    expect(b.rejectionError()).toMatchObject({
      code: 'KEEL_CIRCUIT_OPEN',
      breaker: 'test',
      state: 'open',
    });
  });

  it('count window: old outcomes slide out', () => {
    const b = breaker({ windowSize: 4, minimumCalls: 4, failureRateThreshold: 75 });
    call(b, 'fail');
    call(b, 'fail');
    call(b, 'ok');
    call(b, 'ok'); // [F F S S] 50 %
    call(b, 'ok'); // [F S S S] 25 %
    call(b, 'fail'); // [S S S F] 25 %
    expect(b.state).toBe('closed');
    expect(b.metrics).toEqual({ calls: 4, failures: 1, slow: 0 });
    call(b, 'fail');
    call(b, 'fail'); // [S F F F] 75 %
    expect(b.state).toBe('open');
  });

  it('time window: only the last windowSize seconds count', () => {
    const b = breaker({
      slidingWindow: 'time',
      windowSize: 10,
      minimumCalls: 4,
      failureRateThreshold: 50,
    });
    call(b, 'fail');
    call(b, 'fail');
    call(b, 'fail');
    jest.advanceTimersByTime(11_000); // those three expire
    call(b, 'ok');
    call(b, 'ok');
    call(b, 'ok');
    call(b, 'fail'); // 1 of 4 in the window
    expect(b.state).toBe('closed');
    expect(b.metrics).toEqual({ calls: 4, failures: 1, slow: 0 });
    call(b, 'fail'); // 2 of 5 = 40 %
    expect(b.state).toBe('closed');
    call(b, 'fail'); // 3 of 6 = 50 %
    expect(b.state).toBe('open');
  });

  it('slow calls: opens at the slow-call rate even when every call succeeds', () => {
    const b = breaker({
      windowSize: 10,
      minimumCalls: 4,
      slowCallDurationMs: 500,
      slowCallRateThreshold: 50,
    });
    call(b, 'ok', 10);
    call(b, 'ok', 10);
    call(b, 'slow');
    expect(b.state).toBe('closed');
    call(b, 'ok', 600); // 2 slow of 4
    expect(b.state).toBe('open');
    expect(b.counters).toMatchObject({ successes: 4, failures: 0, slow: 2 });
  });

  it('consecutive-failures mode opens after N failures in a row', () => {
    const b = breaker({ consecutiveFailures: 3, minimumCalls: 1000, windowSize: 1000 });
    call(b, 'fail');
    call(b, 'fail');
    call(b, 'ok'); // resets the run
    call(b, 'fail');
    call(b, 'fail');
    expect(b.state).toBe('closed');
    call(b, 'fail');
    expect(b.state).toBe('open');
  });

  it('half-open admits exactly N probes and closes when all succeed', () => {
    const b = breaker({ consecutiveFailures: 1, openDurationMs: 1_000, halfOpenProbes: 3 });
    call(b, 'fail');
    expect(b.state).toBe('open');
    jest.advanceTimersByTime(999);
    expect(b.acquire()).toBe(PERMIT_REJECTED);
    jest.advanceTimersByTime(1);
    const permits = [b.acquire(), b.acquire(), b.acquire(), b.acquire(), b.acquire()];
    expect(b.state).toBe('half-open');
    expect(permits).toEqual([
      PERMIT_PROBE,
      PERMIT_PROBE,
      PERMIT_PROBE,
      PERMIT_REJECTED,
      PERMIT_REJECTED,
    ]);
    b.success(PERMIT_PROBE, 1);
    b.success(PERMIT_PROBE, 1);
    expect(b.state).toBe('half-open');
    b.success(PERMIT_PROBE, 1);
    expect(b.state).toBe('closed');
    expect(b.acquire()).toBe(PERMIT_CALL);
  });

  it('a failed probe re-opens for another open period', () => {
    const b = breaker({ consecutiveFailures: 1, openDurationMs: 1_000, halfOpenProbes: 2 });
    call(b, 'fail');
    jest.advanceTimersByTime(1_000);
    const p = b.acquire() as number;
    b.failure(p, new Error('still down'), 1);
    expect(b.state).toBe('open');
    jest.advanceTimersByTime(500);
    expect(b.acquire()).toBe(PERMIT_REJECTED);
    jest.advanceTimersByTime(500);
    expect(b.acquire()).toBe(PERMIT_PROBE);
  });

  it('an ignored probe outcome gives its slot back', () => {
    const b = breaker({ consecutiveFailures: 1, openDurationMs: 10, halfOpenProbes: 1 });
    call(b, 'fail');
    jest.advanceTimersByTime(10);
    const p = b.acquire() as number;
    expect(b.acquire()).toBe(PERMIT_REJECTED);
    b.failure(p, new ValidationFailedError([{ path: 'x', message: 'bad' }]), 1);
    expect(b.acquire()).toBe(PERMIT_PROBE);
  });

  it('isolate forces open until reset; reset closes and clears the window', async () => {
    const b = breaker({ windowSize: 10, minimumCalls: 2 });
    call(b, 'fail');
    await b.isolate();
    expect(b.state).toBe('isolated');
    jest.advanceTimersByTime(3_600_000);
    expect(b.acquire()).toBe(PERMIT_REJECTED);
    expect(b.rejectionError().state).toBe('isolated');
    await b.reset();
    expect(b.state).toBe('closed');
    expect(b.metrics.calls).toBe(0);
  });

  it('ignoreOn and recordOn decide how errors count', () => {
    class Business extends Error {}
    class Network extends Error {}
    const b = breaker({
      windowSize: 10,
      minimumCalls: 2,
      failureRateThreshold: 50,
      recordOn: [Network],
      ignoreOn: [Business],
    });
    call(b, new Business());
    call(b, new TypeError('counts as success'));
    expect(b.counters).toMatchObject({ ignored: 1, successes: 1, failures: 0 });
    call(b, new Network());
    expect(b.state).toBe('open');
  });

  it('by default ignores validation errors and 4xx-like errors', () => {
    const b = breaker({ consecutiveFailures: 1 });
    call(b, new ValidationFailedError([]));
    call(b, Object.assign(new Error('not found'), { status: 404 }));
    expect(b.state).toBe('closed');
    call(b, Object.assign(new Error('unavailable'), { status: 503 }));
    expect(b.state).toBe('open');
  });

  it('emits typed events', () => {
    const b = breaker({ consecutiveFailures: 1, openDurationMs: 10 });
    const changes: BreakerStateChangeEvent[] = [];
    const rejected: string[] = [];
    b.onStateChange((e) => changes.push(e));
    const sub = b.onCallRejected((e) => rejected.push(e.state));
    call(b, 'fail');
    b.acquire();
    sub.dispose();
    b.acquire();
    jest.advanceTimersByTime(10);
    call(b, 'ok');
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual([
      'closed->open:consecutive-failures',
      'open->half-open:open-expired',
      'half-open->closed:probes-succeeded',
    ]);
    expect(rejected).toEqual(['open']);
  });
});
