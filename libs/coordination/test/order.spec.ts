import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  Bulkhead,
  CircuitBreaker,
  CircuitBreakerRegistry,
  Fallback,
  Retry,
  Timeout,
  Validate,
  timeoutSignal,
} from '@keel/coordination';
import { z } from 'zod';
import { bootApp, pause } from './support.js';

type Mode = 'ok' | 'flaky' | 'down' | 'hang';

const DECORATORS: Record<string, MethodDecorator> = {
  Validate: Validate({ params: { mode: z.enum(['ok', 'flaky', 'down', 'hang']) } }),
  Fallback: Fallback('fallback'),
  Retry: Retry({ maxAttempts: 3, delayMs: 1, backoff: 'constant' }),
  CircuitBreaker: CircuitBreaker({
    consecutiveFailures: 10,
    minimumCalls: 100,
    openDurationMs: 60_000,
  }),
  Timeout: Timeout(40),
  Bulkhead: Bulkhead({ maxConcurrent: 5 }),
};

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

interface Service {
  attempts: number;
  call(mode: Mode): Promise<unknown>;
}

/** One class per written order, with the decorators applied top to bottom as written. */
function serviceWritten(order: readonly string[], index: number): new () => Service {
  @Injectable()
  class Written implements Service {
    attempts = 0;
    async call(mode: Mode): Promise<unknown> {
      this.attempts++;
      if (mode === 'flaky' && this.attempts % 3 !== 0) throw new Error('transient');
      if (mode === 'down') throw new Error('down');
      if (mode === 'hang') await pause(5_000, timeoutSignal());
      return `ok after ${this.attempts}`;
    }
    fallback(_mode: Mode, error: unknown) {
      return `fallback: ${(error as Error).name}`;
    }
  }
  Object.defineProperty(Written, 'name', { value: `Written${index}` });
  const descriptor = Object.getOwnPropertyDescriptor(Written.prototype, 'call')!;
  // TypeScript applies method decorators bottom-up; do the same.
  for (const name of [...order].reverse()) DECORATORS[name](Written.prototype, 'call', descriptor);
  Object.defineProperty(Written.prototype, 'call', descriptor);
  return Written;
}

const orders = permutations(['Fallback', 'Retry', 'CircuitBreaker', 'Timeout']).map((o) => [
  'Validate',
  ...o,
  'Bulkhead',
]);
// Validate and Bulkhead move too: a second set puts them in the middle or reversed.
orders.push(['Bulkhead', 'Timeout', 'CircuitBreaker', 'Retry', 'Fallback', 'Validate']);
orders.push(['Timeout', 'Validate', 'Bulkhead', 'Fallback', 'CircuitBreaker', 'Retry']);
const classes = orders.map((order, i) => serviceWritten(order, i));

describe('decorators stacked in every written order behave the same', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await bootApp({ providers: classes });
  });
  afterAll(async () => {
    await app.close();
  });

  const run = async (mode: Mode | 'invalid') =>
    Promise.all(
      classes.map(async (cls) => {
        const service = app.get(cls);
        service.attempts = 0;
        const outcome = await service.call(mode as Mode).then(
          (value) => `value ${String(value)}`,
          (error: unknown) => `error ${(error as Error).name}`,
        );
        return `${outcome}; attempts ${service.attempts}`;
      }),
    );

  it(`has ${orders.length} written orders`, () => {
    expect(new Set(orders.map((o) => o.join())).size).toBe(orders.length);
  });

  it('success', async () => {
    expect(new Set(await run('ok'))).toEqual(new Set(['value ok after 1; attempts 1']));
  });

  it('transient failures: retried inside the fallback', async () => {
    expect(new Set(await run('flaky'))).toEqual(new Set(['value ok after 3; attempts 3']));
  });

  it('persistent failure: every attempt counts on the breaker, the fallback sees the last error', async () => {
    expect(new Set(await run('down'))).toEqual(new Set(['value fallback: Error; attempts 3']));
  });

  it('hang: the timeout applies per attempt, inside retry', async () => {
    expect(new Set(await run('hang'))).toEqual(
      new Set(['value fallback: TimeoutError; attempts 3']),
    );
  });

  it('invalid input: rejected before anything runs, never retried or replaced by the fallback', async () => {
    expect(new Set(await run('invalid'))).toEqual(
      new Set(['error ValidationFailedError; attempts 0']),
    );
  });

  it('the breaker saw the same calls everywhere; once open, the fallback answers', async () => {
    const registry = app.get(CircuitBreakerRegistry);
    // ok (1 success) + flaky (2 failures, 1 success) + down (3 failures) + hang (3 timeouts);
    // the invalid call never reached the breaker.
    expect(new Set(registry.list().map((b) => `${b.state} ${JSON.stringify(b.counters)}`))).toEqual(
      new Set(['closed {"successes":2,"failures":8,"slow":0,"ignored":0,"rejected":0}']),
    );
    await Promise.all(registry.list().map((b) => b.isolate()));
    expect(new Set(await run('ok'))).toEqual(
      new Set(['value fallback: CircuitOpenError; attempts 0']),
    );
  });
});
