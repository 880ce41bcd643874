import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { KeelDeadlineError } from '../core.errors.js';
import { withDeadline } from './deadline.js';

describe('withDeadline', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('settles like the work when it settles first, and leaves no timer behind', async () => {
    await expect(withDeadline(Promise.resolve(7), 100)).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 100)).rejects.toThrow('boom');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects with KeelDeadlineError, or the given error, once the time is up', async () => {
    const never = new Promise<never>(() => undefined);
    const late = withDeadline(never, 100);
    const custom = withDeadline(never, 50, () => new Error('Redis did not answer'));
    jest.advanceTimersByTime(50);
    await expect(custom).rejects.toThrow('Redis did not answer');
    jest.advanceTimersByTime(50);
    await expect(late).rejects.toBeInstanceOf(KeelDeadlineError);
    await expect(late).rejects.toMatchObject({ code: 'KEEL_DEADLINE_EXCEEDED' });
  });

  it('observes a rejection that comes after the deadline (no unhandled rejection)', async () => {
    let fail!: (error: Error) => void;
    const work = new Promise<never>((_, reject) => (fail = reject));
    const guarded = withDeadline(work, 10);
    jest.advanceTimersByTime(10);
    await expect(guarded).rejects.toBeInstanceOf(KeelDeadlineError);
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    fail(new Error('too late'));
    await Promise.resolve();
    jest.useRealTimers();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
