import { describe, expect, it, jest } from '@jest/globals';
import { MemoryIdempotencyStore } from './memory-idempotency.store.js';
import { runWithLease, type LeaseBackend } from './idempotency.store.js';
import { MemoryParkingStore, parkingSlot } from './parking.store.js';
import { readRetryState, retryRecord, retryTopic } from '../consumer/retry-record.js';
import { MessageContext } from '../consumer/message-context.js';
import type { IncomingRecord } from '../kafka/message-transport.js';

describe('MemoryIdempotencyStore (fake timers for its TTLs)', () => {
  it('keeps a completed key for its TTL, a running one for its lease, and prunes what expired', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const store = new MemoryIdempotencyStore();
      const request = { key: 'k', ttlMs: 10_000, leaseMs: 3_000 };
      expect(await store.run(request, async () => 1)).toEqual({ ran: true, value: 1 });
      expect(await store.run(request, async () => 2)).toEqual({ ran: false, state: 'done' });
      jest.setSystemTime(1_000_000 + 10_001);
      expect(await store.run(request, async () => 3)).toEqual({ ran: true, value: 3 });
      await store.claim('running', 'someone', 3_000);
      expect(await store.claim('running', 'other', 3_000)).toEqual({
        state: 'running',
        retryAfterMs: 3_000,
      });
      await store.extend('running', 'someone', 5_000);
      expect(await store.claim('running', 'other', 3_000)).toEqual({
        state: 'running',
        retryAfterMs: 5_000,
      });
      await store.release('running', 'not-the-owner');
      expect((await store.claim('running', 'other', 3_000)).state).toBe('running');
      jest.setSystemTime(1_000_000 + 10_001 + 20_001);
      expect(await store.prune()).toBe(2);
      await store.close();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('MemoryParkingStore', () => {
  it('queues a parked key’s records by offset, lets only the oldest run, and frees the key when empty', async () => {
    const store = new MemoryParkingStore();
    const slot = parkingSlot('orders', 'g', 'K');
    expect(await store.joinIfParked(slot, 7)).toBe(false); // not parked: runs at once
    await store.park(slot, 10);
    expect(await store.joinIfParked(slot, 14)).toBe(true);
    expect(await store.joinIfParked(slot, 12)).toBe(true);
    expect(await store.position(slot, 10)).toEqual({ queued: true, head: true });
    expect(await store.position(slot, 12)).toEqual({ queued: true, head: false });
    expect(await store.position(slot, 9)).toEqual({ queued: false, head: false });
    expect(await store.parkedCount()).toBe(1);
    await store.leave(slot, 10);
    expect(await store.position(slot, 12)).toEqual({ queued: true, head: true });
    await store.leave(slot, 12);
    await store.leave(slot, 14);
    expect(await store.parkedCount()).toBe(0);
    expect(await store.position(slot, 14)).toEqual({ queued: false, head: false });
    await store.leave(slot, 14); // freed already: nothing happens
  });
});

const record = (headers: Record<string, string> = {}): IncomingRecord => ({
  topic: 'orders.g.retry',
  partition: 1,
  offset: '9',
  key: 'K',
  value: null,
  headers,
  timestamp: 5,
});

describe('retry records', () => {
  it('round-trips the retry state through headers and keeps the first origin', () => {
    expect(retryTopic('orders', 'g')).toBe('orders.g.retry');
    expect(readRetryState(record())).toBeUndefined();
    const sent = retryRecord(
      {
        ...record({
          'keel-dlt-original-topic': 'orders',
          'keel-dlt-original-offset': '3',
          'keel-retry-round': '1',
        }),
        topic: 'orders.g.retry',
      },
      { originalTopic: 'orders', round: 2, dueAt: 77, attempts: 5 },
    );
    expect(sent.value).toBe('');
    expect(sent.headers).toMatchObject({
      'keel-dlt-original-topic': 'orders',
      'keel-dlt-original-offset': '3',
      'keel-dlt-original-partition': '1',
      'keel-retry-round': '2',
      'keel-retry-due': '77',
      'keel-retry-attempts': '5',
    });
    expect(readRetryState(record(sent.headers))).toEqual({
      originalTopic: 'orders',
      round: 2,
      dueAt: 77,
      attempts: 5,
    });
  });
});

describe('MessageContext', () => {
  it('exposes the event, record, attempt, signal and the topic the event was published to', () => {
    const controller = new AbortController();
    const event = {
      specversion: '1.0',
      id: 'e',
      source: '/s',
      type: 't',
      time: '',
      datacontenttype: 'application/json',
      data: 1,
    } as const;
    const ctx = new MessageContext(event, record(), 2, controller.signal, 'orders');
    expect([ctx.event, ctx.record, ctx.topic, ctx.key, ctx.attempt, ctx.signal]).toEqual([
      event,
      record(),
      'orders',
      'K',
      2,
      controller.signal,
    ]);
    expect(ctx.getMessage()).toEqual(record());
    expect(ctx.getArgs()).toHaveLength(5);
    expect(ctx.getArgByIndex(2)).toBe(2);
    expect(new MessageContext(event, record(), 1, controller.signal).topic).toBe('orders.g.retry');
  });
});

describe('runWithLease', () => {
  it('reports a store that cannot be reached as KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE (503), and the body’s own errors as they are', async () => {
    const unreachable: LeaseBackend = {
      claim: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6390');
      },
      complete: async () => undefined,
      release: async () => undefined,
      extend: async () => undefined,
    };
    const request = { key: 'k', ttlMs: 1_000, leaseMs: 1_000 };
    let ran = false;
    await expect(
      runWithLease(
        unreachable,
        't',
        request,
        async () => (ran = true),
        () => undefined,
      ),
    ).rejects.toMatchObject({
      code: 'KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE',
      status: 503,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(ran).toBe(false);
    const bodyError = new RangeError('the body failed');
    await expect(
      new MemoryIdempotencyStore().run(request, async () => {
        throw bodyError;
      }),
    ).rejects.toBe(bodyError);
  });
});
