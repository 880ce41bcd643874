import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { TimeoutError } from '../coordination.errors.js';
import { DeadlineList, PendingCall } from './deadline-list.js';

describe('DeadlineList (the @Timeout timer)', () => {
  let timeouts = 0;
  beforeEach(() => {
    timeouts = 0;
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const list = (ms: number) =>
    new DeadlineList(
      ms,
      () => new TimeoutError(ms, 'Svc.method'),
      () => timeouts++,
    );
  const never = () => new Promise<never>(() => undefined);

  it('rejects with TimeoutError exactly at the deadline', async () => {
    const l = list(100);
    const outcome = l.race(new PendingCall(Date.now() + 100), never()).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(99);
    expect(l.size).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'KEEL_TIMEOUT', timeoutMs: 100 });
    expect(timeouts).toBe(1);
  });

  it('passes values and errors through before the deadline', async () => {
    const l = list(100);
    await expect(l.race(new PendingCall(Date.now() + 100), Promise.resolve(7))).resolves.toBe(7);
    await expect(
      l.race(new PendingCall(Date.now() + 100), Promise.reject(new RangeError('x'))),
    ).rejects.toThrow(RangeError);
    expect(l.size).toBe(0);
    expect(timeouts).toBe(0);
  });

  it('serves many calls with one timer and leaves none behind', async () => {
    const l = list(100);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      calls.push(l.race(new PendingCall(Date.now() + 100), Promise.resolve(i)));
      jest.advanceTimersByTime(1);
    }
    calls.push(l.race(new PendingCall(Date.now() + 100), never()).catch((e: unknown) => e));
    expect(jest.getTimerCount()).toBe(1);
    await Promise.all(calls.slice(0, 50));
    await jest.advanceTimersByTimeAsync(100);
    expect(await calls[50]).toBeInstanceOf(TimeoutError);
    expect(jest.getTimerCount()).toBe(0);
    expect(l.size).toBe(0);
  });

  it('close() clears the timer at once', () => {
    const l = list(60_000);
    void l.race(new PendingCall(Date.now() + 60_000), never());
    expect(jest.getTimerCount()).toBe(1);
    l.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('aborts the signal only if it was asked for, with the TimeoutError as reason', async () => {
    const l = list(50);
    const asked = new PendingCall(Date.now() + 50);
    const signal = asked.signal();
    const quiet = new PendingCall(Date.now() + 50);
    const a = l.race(asked, never()).catch(() => undefined);
    const b = l.race(quiet, never()).catch(() => undefined);
    await jest.advanceTimersByTimeAsync(50);
    await Promise.all([a, b]);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TimeoutError);
    expect(quiet.controller).toBeNull();
  });

  it('a settled call is never aborted', async () => {
    const l = list(50);
    const call = new PendingCall(Date.now() + 50);
    const signal = call.signal();
    await l.race(call, Promise.resolve('done'));
    await jest.advanceTimersByTimeAsync(100);
    expect(signal.aborted).toBe(false);
  });
});
