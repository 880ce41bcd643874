import { describe, expect, it, jest } from '@jest/globals';
import { KeelMetrics } from '@keel/core';
import { MemoryTransport } from '../kafka/memory-transport.js';
import type { IncomingRecord } from '../kafka/message-transport.js';
import { deadLetterRecord, MAX_STACK_LENGTH } from './dead-letter.js';
import { describeFailure } from './failure.js';
import { decodeRecord } from './incoming-event.js';
import { MemoryParkingStore } from '../stores/parking.store.js';
import { RecordProcessor, type EventHandler } from './record-processor.js';

const record = (over: Partial<IncomingRecord> = {}): IncomingRecord => ({
  topic: 'orders',
  partition: 2,
  offset: '41',
  key: 'k',
  value: '{"id":1}',
  headers: {
    ce_specversion: '1.0',
    ce_id: 'e-1',
    ce_source: '/s',
    ce_type: 't',
    'content-type': 'application/json',
  },
  timestamp: 1_700_000_000_000,
  ...over,
});

const settings = {
  groupId: 'g',
  fromBeginning: false,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 2_000,
  maxWaitTimeMs: 100,
  partitionsConsumedConcurrently: 1,
  retryDelaysMs: [1, 1],
  retryTopicDelaysMs: [] as number[],
  maxProcessingMs: 1_000,
};

function processor(
  handlerFor: (topic: string) => EventHandler | undefined,
  transport = new MemoryTransport(),
) {
  const stopping = new AbortController();
  return {
    transport,
    stopping,
    processor: new RecordProcessor({
      settings,
      transport,
      metrics: new KeelMetrics(),
      handlerFor,
      stopping: stopping.signal,
      parking: new MemoryParkingStore(),
    }),
  };
}

const beat = async () => {};

describe('decodeRecord', () => {
  it('reads binary and structured CloudEvents', () => {
    expect(decodeRecord(record())).toEqual({
      ok: true,
      event: {
        specversion: '1.0',
        id: 'e-1',
        source: '/s',
        type: 't',
        data: { id: 1 },
        datacontenttype: 'application/json',
      },
    });
    const structured = record({
      headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' },
      value: JSON.stringify({ specversion: '1.0', id: 'e-2', source: '/s', type: 't', data: [1] }),
    });
    expect(decodeRecord(structured)).toMatchObject({ ok: true, event: { id: 'e-2', data: [1] } });
  });

  it('names what makes a record malformed', () => {
    const problem = (over: Partial<IncomingRecord>) => {
      const decoded = decodeRecord(record(over));
      return decoded.ok ? 'ok' : decoded.problem;
    };
    expect(problem({ value: '{' })).toMatch(/^binary event data: not JSON/);
    expect(problem({ headers: { ...record().headers, 'content-type': 'text/plain' } })).toMatch(
      /text\/plain is not JSON/,
    );
    expect(problem({ headers: { ...record().headers, ce_specversion: '0.3' } })).toMatch(
      /specversion must be "1.0"/,
    );
    expect(problem({ headers: { ce_specversion: '1.0', ce_id: 'x', ce_type: 't' } })).toMatch(
      /source is missing/,
    );
    expect(problem({ headers: {} })).toMatch(/^not a CloudEvent/);
    const structured = { 'content-type': 'application/cloudevents+json' };
    expect(problem({ headers: structured, value: '[1]' })).toMatch(/not a JSON object/);
    expect(problem({ headers: structured, value: null })).toMatch(/has no value/);
    expect(
      problem({
        headers: structured,
        value: JSON.stringify({
          specversion: '1.0',
          id: 'a',
          source: 's',
          type: 't',
          data_base64: 'AA==',
        }),
      }),
    ).toMatch(/data_base64/);
    expect(decodeRecord(record({ value: null }))).toMatchObject({
      ok: true,
      event: { data: undefined },
    });
  });
});

describe('describeFailure', () => {
  it('keeps the code, message and stack, and calls 4xx permanent except 408, 425, 429', () => {
    const plain = describeFailure(new TypeError('boom'));
    expect(plain).toMatchObject({ code: 'TypeError', message: 'boom', retryable: true });
    expect(plain.stack).toContain('boom');
    expect(
      describeFailure({ statusCode: 400, code: 'KEEL_VALIDATION_FAILED', message: 'bad' }),
    ).toMatchObject({
      code: 'KEEL_VALIDATION_FAILED',
      retryable: false,
    });
    expect(describeFailure({ getStatus: () => 404, message: 'gone' })).toMatchObject({
      code: 'Error',
      retryable: false,
    });
    expect(describeFailure({ status: 429, message: 'slow down' }).retryable).toBe(true);
    expect(describeFailure({ status: 503, message: 'x' }).retryable).toBe(true);
    expect(describeFailure('text')).toMatchObject({
      code: 'Error',
      message: 'text',
      retryable: true,
    });
    expect(describeFailure({ status: 'error', message: 'Internal server error' }).retryable).toBe(
      true,
    );
  });
});

describe('deadLetterRecord', () => {
  it('keeps the record and its headers, adds keel-dlt-* and keeps the first origin on a second dead-lettering', () => {
    const first = deadLetterRecord(record(), 'g', {
      code: 'E',
      message: 'line 1\nline 2',
      stack: 'x'.repeat(20_000),
      attempts: 3,
    });
    expect(first).toMatchObject({
      key: 'k',
      value: '{"id":1}',
      headers: {
        ce_id: 'e-1',
        'keel-dlt-original-topic': 'orders',
        'keel-dlt-original-partition': '2',
        'keel-dlt-original-offset': '41',
        'keel-dlt-original-timestamp': '1700000000000',
        'keel-dlt-consumer-group': 'g',
        'keel-dlt-exception-code': 'E',
        'keel-dlt-exception-message': 'line 1 line 2',
        'keel-dlt-attempts': '3',
      },
    });
    expect(first.headers['keel-dlt-exception-stacktrace']).toHaveLength(MAX_STACK_LENGTH);
    const again = deadLetterRecord(
      record({ topic: 'orders.g.dlq', offset: '7', headers: first.headers }),
      'g',
      { code: 'F', message: 'later', attempts: 1 },
    );
    expect(again.headers).toMatchObject({
      'keel-dlt-original-topic': 'orders',
      'keel-dlt-original-offset': '41',
      'keel-dlt-exception-code': 'F',
    });
    expect(again.headers['keel-dlt-exception-stacktrace']).toBeUndefined();
  });
});

describe('RecordProcessor', () => {
  it('dead-letters a record of a topic no handler serves, never commits it silently', async () => {
    const { processor: p, transport } = processor(() => undefined);
    await p.process(record(), beat);
    expect(transport.records('orders.g.dlq')[0]!.headers).toMatchObject({
      'keel-dlt-exception-code': 'KEEL_MESSAGING_NO_HANDLER',
      'keel-dlt-attempts': '0',
    });
  });

  it('retries with the configured delays, then dead-letters with the attempt count', async () => {
    let calls = 0;
    const { processor: p, transport } = processor(() => () => {
      calls += 1;
      throw new Error(`attempt ${calls}`);
    });
    await p.process(record(), beat);
    expect(calls).toBe(3);
    expect(transport.records('orders.g.dlq')[0]!.headers).toMatchObject({
      'keel-dlt-exception-message': 'attempt 3',
      'keel-dlt-attempts': '3',
    });
  });

  it('rejects, leaving the record uncommitted, when the dead-letter write fails', async () => {
    const transport = new MemoryTransport();
    transport.send = async () => {
      throw new Error('broker down');
    };
    const { processor: p } = processor(() => undefined, transport);
    await expect(p.process(record(), beat)).rejects.toThrow('broker down');
  });

  it('rejects a failed attempt while stopping instead of dead-lettering it', async () => {
    const {
      processor: p,
      transport,
      stopping,
    } = processor(() => async () => {
      stopping.abort();
      throw new Error('interrupted');
    });
    await expect(p.process(record(), beat)).rejects.toMatchObject({
      code: 'KEEL_MESSAGING_SHUT_DOWN',
    });
    expect(transport.records('orders.g.dlq')).toEqual([]);
  });

  it('parks a failing key: its later records go behind it on the retry topic, in order, until its head leaves', async () => {
    const transport = new MemoryTransport();
    const parking = new MemoryParkingStore();
    const ran: string[] = [];
    const processorWithParking = new RecordProcessor({
      settings: { ...settings, retryDelaysMs: [], retryTopicDelaysMs: [1, 1] },
      transport,
      metrics: new KeelMetrics(),
      handlerFor: () => (event: unknown) => {
        const id = (event as { id: string }).id;
        if (id === 'K0') throw new Error('poison');
        ran.push(id);
      },
      stopping: new AbortController().signal,
      parking,
    });
    const of = (id: string, key = 'K', offset = '0') =>
      record({ key, offset, headers: { ...record().headers, ce_id: id } });
    const retryTopic = 'orders.g.retry';
    const retried = () => transport.records(retryTopic);
    const asIncoming = (i: number): IncomingRecord => {
      const r = retried()[i]!;
      return { ...r, partition: 0, offset: String(r.offset), value: r.value };
    };
    await processorWithParking.process(of('K0'), beat); // fails: parked, round 1
    await processorWithParking.process(of('K1', 'K', '1'), beat); // waits behind it, round 0
    await processorWithParking.process(of('J0', 'J', '2'), beat); // another key flows on
    expect(ran).toEqual(['J0']);
    expect(retried().map((r) => [r.headers['ce_id'], r.headers['keel-retry-round']])).toEqual([
      ['K0', '1'],
      ['K1', '0'],
    ]);
    await processorWithParking.processRetry(asIncoming(0), beat); // fails again: round 2, blocked
    await processorWithParking.processRetry(asIncoming(1), beat); // blocked: goes behind it again
    expect(
      retried()
        .map((r) => [r.headers['ce_id'], r.headers['keel-retry-round']])
        .slice(2),
    ).toEqual([
      ['K0', '2'],
      ['K1', '0'],
    ]);
    await processorWithParking.processRetry(asIncoming(2), beat); // last round: dead-lettered, key released
    expect(transport.records('orders.g.dlq').map((r) => r.headers['keel-dlt-attempts'])).toEqual([
      '3',
    ]);
    expect(await parking.position('orders.g\u0000K', 1)).toEqual({ queued: true, head: true });
    await processorWithParking.processRetry(asIncoming(3), beat); // K1 runs now
    expect(ran).toEqual(['J0', 'K1']);
    expect(await parking.parkedCount()).toBe(0);
    await processorWithParking.process(of('K2', 'K', '3'), beat); // no longer parked: runs at once
    expect(ran).toEqual(['J0', 'K1', 'K2']);
    expect(retried()).toHaveLength(4);
  });

  it('stops at once while a retry round waits for its due time, leaving the record uncommitted', async () => {
    const stopping = new AbortController();
    const transport = new MemoryTransport();
    const waiting = new RecordProcessor({
      settings: { ...settings, heartbeatIntervalMs: 60_000, retryTopicDelaysMs: [60_000] },
      transport,
      metrics: new KeelMetrics(),
      handlerFor: () => () => undefined,
      stopping: stopping.signal,
      parking: new MemoryParkingStore(),
    });
    const due = record({
      topic: 'orders.g.retry',
      headers: {
        ...record().headers,
        'keel-dlt-original-topic': 'orders',
        'keel-retry-round': '1',
        'keel-retry-due': String(Date.now() + 60_000),
      },
    });
    // Fake timers that are never advanced: the wait can only end through the stop, not a timer.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const stopped = waiting.processRetry(due, beat);
      await new Promise((resolve) => setImmediate(resolve)); // it is now waiting for the due time
      stopping.abort();
      await expect(stopped).rejects.toMatchObject({ code: 'KEEL_MESSAGING_SHUT_DOWN' });
      expect(transport.records('orders.g.dlq')).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('skips a stale copy of a record that already ran, and sends a copy that arrives early behind its key’s head', async () => {
    const transport = new MemoryTransport();
    const parking = new MemoryParkingStore();
    const ran: string[] = [];
    let broken = true;
    const p = new RecordProcessor({
      settings: { ...settings, retryDelaysMs: [], retryTopicDelaysMs: [1, 1] },
      transport,
      metrics: new KeelMetrics(),
      handlerFor: () => (event: unknown) => {
        const id = (event as { id: string }).id;
        if (id === 'K0' && broken) throw new Error('not yet');
        ran.push(id);
      },
      stopping: new AbortController().signal,
      parking,
    });
    const of = (id: string, offset: string) =>
      record({ key: 'K', offset, headers: { ...record().headers, ce_id: id } });
    const copies = () => transport.records('orders.g.retry');
    const copy = (i: number): IncomingRecord => {
      const r = copies()[i]!;
      return { ...r, partition: 0, offset: String(r.offset), value: r.value };
    };
    await p.process(of('K0', '0'), beat); // parked at offset 0
    await p.process(of('K1', '1'), beat); // queued behind it
    // A rebalance redelivers K1's copy ahead of K0's: it is not the head, so it goes behind.
    await p.processRetry(copy(1), beat);
    expect(ran).toEqual([]);
    broken = false;
    await p.processRetry(copy(0), beat); // K0 runs, leaves the queue
    await p.processRetry(copy(2), beat); // K1, now the head, runs
    await p.processRetry(copy(1), beat); // the original copy again (a redelivery): skipped
    expect(ran).toEqual(['K0', 'K1']);
    expect(await parking.parkedCount()).toBe(0);
  });

  it('keeps a key in order when a newer record is parked while older followers are being re-queued', async () => {
    const transport = new MemoryTransport();
    const ran: string[] = [];
    let failures = 2; // the head fails its first two runs
    const p = new RecordProcessor({
      settings: { ...settings, retryDelaysMs: [], retryTopicDelaysMs: [1, 1, 1] },
      transport,
      metrics: new KeelMetrics(),
      handlerFor: () => (event: unknown) => {
        const id = (event as { id: string }).id;
        if (id === 'J0' && failures-- > 0) throw new Error('not yet');
        ran.push(id);
      },
      stopping: new AbortController().signal,
      parking: new MemoryParkingStore(),
    });
    const of = (id: string, offset: string) =>
      record({ key: 'J', offset, headers: { ...record().headers, ce_id: id } });
    let read = 0; // the retry consumer's position in the retry topic
    const nextRetry = async () => {
      const r = transport.records('orders.g.retry')[read++]!;
      await p.processRetry({ ...r, partition: 0, offset: String(r.offset), value: r.value }, beat);
    };
    await p.process(of('J0', '0'), beat); // [J0 r1]
    await p.process(of('J1', '1'), beat); // [J0 r1, J1]
    await p.process(of('J2', '2'), beat); // [J0 r1, J1, J2]
    await nextRetry(); // J0 fails again: [.., J0 r2]
    await nextRetry(); // J1 goes behind it: [.., J0 r2, J1']
    await p.process(of('J3', '3'), beat); // the main consumer parks a newer one: [.., J1', J3]
    await nextRetry(); // J2 goes behind: [.., J1', J3, J2']
    while (read < transport.records('orders.g.retry').length) await nextRetry();
    expect(ran).toEqual(['J0', 'J1', 'J2', 'J3']);
  });
});
