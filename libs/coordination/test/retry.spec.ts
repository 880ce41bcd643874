import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { z } from 'zod';
import { KeelMetrics } from '@keel/core';
import { Bulkhead, Retry, Validate, ValidationFailedError } from '@keel/coordination';
import { barrier, bootApp, type Barrier } from './support.js';

class NotFound extends Error {
  readonly status = 404;
}
class Fatal extends Error {}

/** Resolved by `Flaky.longSleep`'s retry as it goes to sleep. */
let retrySleeping: Barrier | undefined;

@Injectable()
class Flaky {
  calls = 0;
  started: number[] = [];

  @Retry({ maxAttempts: 4, delayMs: 1, backoff: 'constant' })
  async async(failures: number) {
    this.calls++;
    if (this.calls <= failures) throw new Error(`failure ${this.calls}`);
    return this.calls;
  }

  @Retry({ maxAttempts: 3, delayMs: 1 })
  sync(failures: number): number {
    this.calls++;
    if (this.calls <= failures) throw new Error('sync failure');
    return this.calls;
  }

  @Retry({ maxAttempts: 5, delayMs: 1 })
  @Validate({ params: { n: z.number() } })
  async validated(n: number) {
    this.calls++;
    return n;
  }

  @Retry({ maxAttempts: 5, delayMs: 1 })
  async clientError() {
    this.calls++;
    throw new NotFound('no such order');
  }

  @Retry({ maxAttempts: 5, delayMs: 1, abortOn: [Fatal] })
  async fatal() {
    this.calls++;
    throw new Fatal('stop');
  }

  @Retry({ maxAttempts: 5, delayMs: 1, retryOn: (e) => (e as Error).message === 'again' })
  async predicate(message: string) {
    this.calls++;
    throw new Error(message);
  }

  @Retry({ maxAttempts: 3, delayMs: 60_000, onRetry: () => retrySleeping?.resolve() })
  async longSleep() {
    this.calls++;
    throw new Error('wait a minute');
  }

  @Retry({ maxAttempts: 100, delayMs: 20, backoff: 'constant', maxDurationMs: 100 })
  async budget() {
    this.calls++;
    this.started.push(Date.now());
    throw new Error('over budget');
  }

  @Retry({ maxAttempts: 3, delayMs: 1 })
  @Bulkhead({ maxConcurrent: 1 })
  async busy(hold: Promise<void>) {
    this.calls++;
    await hold;
  }
}

describe('@Retry semantics', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  const flaky = async () => {
    app = await bootApp({ providers: [Flaky] });
    return app.get(Flaky);
  };

  it('maxAttempts counts the first call', async () => {
    const f = await flaky();
    await expect(f.async(3)).resolves.toBe(4);
    f.calls = 0;
    await expect(f.async(10)).rejects.toThrow('failure 4');
    expect(f.calls).toBe(4);
    const metrics = await app!.get(KeelMetrics).render();
    expect(metrics).toMatch(/keel_retry_attempts_total\{[^}]*name="Flaky.async"[^}]*\} 6/);
  });

  it('sync methods stay sync on success and become async only to retry', async () => {
    const f = await flaky();
    expect(f.sync(0)).toBe(1);
    f.calls = 0;
    await expect(f.sync(2)).resolves.toBe(3);
  });

  it('never retries validation errors, 4xx-like errors, abortOn errors', async () => {
    const f = await flaky();
    await expect(f.validated('x' as unknown as number)).rejects.toBeInstanceOf(
      ValidationFailedError,
    );
    expect(f.calls).toBe(0);
    await expect(f.clientError()).rejects.toThrow('no such order');
    expect(f.calls).toBe(1);
    f.calls = 0;
    await expect(f.fatal()).rejects.toThrow('stop');
    expect(f.calls).toBe(1);
    f.calls = 0;
    await expect(f.predicate('once')).rejects.toThrow('once');
    expect(f.calls).toBe(1);
    f.calls = 0;
    await expect(f.predicate('again')).rejects.toThrow('again');
    expect(f.calls).toBe(5);
  });

  it('never retries a bulkhead rejection', async () => {
    const f = await flaky();
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const first = f.busy(hold);
    await expect(f.busy(Promise.resolve())).rejects.toMatchObject({
      code: 'KEEL_BULKHEAD_REJECTED',
    });
    release();
    await first;
    expect(f.calls).toBe(1);
  });

  it('maxDurationMs stops retrying when the next sleep would pass the budget', async () => {
    const f = await flaky();
    // Fake timers: the budget's clock (Date) and the retry sleeps move only when advanced.
    jest.useFakeTimers();
    try {
      const outcome = f.budget().catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(await outcome).toMatchObject({ message: 'over budget' });
    } finally {
      jest.useRealTimers();
    }
    // Every 20 ms while the next start stays within 100 ms of the first; the one at 120 would not.
    expect(f.started.map((t) => t - f.started[0])).toEqual([0, 20, 40, 60, 80, 100]);
  });

  it('a sleeping retry gives up with its last error when the application shuts down, not after its one-minute sleep (asserted < 5 s)', async () => {
    const f = await flaky();
    retrySleeping = barrier();
    const pending = f.longSleep().catch((e: unknown) => e);
    await retrySleeping.promise; // the first attempt failed and its retry sleeps
    const started = Date.now();
    await app!.close();
    app = undefined;
    const error = await pending;
    expect((error as Error).message).toBe('wait a minute');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(f.calls).toBe(1);
  });
});
