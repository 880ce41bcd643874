import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BadRequestException, Controller, type INestApplication } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { KeelCoreModule, RequestContext, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  MemoryTransport,
  MessageContext,
  MessageTransport,
  MessagingModule,
  MessagingServer,
  type KeelCloudEvent,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { kafkaBrokers, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { startMessagingApp } from './support.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const GROUP = uniquePrefix('consumers');
const T = {
  seen: uniquePrefix('seen'),
  flaky: uniquePrefix('flaky'),
  poison: uniquePrefix('poison'),
  invalid: uniquePrefix('invalid'),
  slow: uniquePrefix('slow'),
  runaway: uniquePrefix('runaway'),
};

/** Every topic carries CloudEvents: Nest 12 types the payload from this map (`<string>` where a handler also takes @Ctx()). */
type Events = Record<string, KeelCloudEvent>;

interface Seen {
  readonly event: KeelCloudEvent;
  readonly correlationId: string | undefined;
  readonly traceparent: string | undefined;
  readonly actor: string | undefined;
  readonly attempt: number;
  readonly data: unknown;
}

const seen: Seen[] = [];
const calls = new Map<string, number>();
const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1).get(id)!;
let runawayAborted: unknown;

@Controller()
class Handlers {
  @EventPattern<string>(T.seen)
  onSeen(
    @Payload() event: KeelCloudEvent,
    @Payload('data') data: unknown,
    @Ctx() ctx: MessageContext,
  ) {
    const info = RequestContext.current();
    seen.push({
      event,
      data,
      correlationId: info?.correlationId,
      traceparent: info?.traceparent,
      actor: info?.actor,
      attempt: ctx.attempt,
    });
  }

  @EventPattern<Events>(T.flaky)
  async onFlaky(@Payload() event: KeelCloudEvent) {
    if (count(event.id) < 3) throw new Error(`flaky failure ${calls.get(event.id)}`);
  }

  @EventPattern<Events>(T.poison)
  onPoison(@Payload() event: KeelCloudEvent) {
    count(event.id);
    throw new Error('poison: cannot apply');
  }

  @EventPattern<Events>(T.invalid)
  onInvalid(@Payload() event: KeelCloudEvent) {
    count(event.id);
    throw new BadRequestException('amount must be positive');
  }

  @EventPattern<Events>(T.slow)
  async onSlow(@Payload() event: KeelCloudEvent) {
    count(event.id);
    // Three session timeouts: without heartbeats the member is evicted and the record redelivered.
    await new Promise((resolve) => setTimeout(resolve, 3 * 6_000 + 500));
  }

  @EventPattern<string>(T.runaway)
  async onRunaway(@Payload() event: KeelCloudEvent, @Ctx() ctx: MessageContext) {
    count(event.id);
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => {
        runawayAborted = ctx.signal.reason;
        resolve();
      }),
    );
    await new Promise(() => undefined); // ignores the signal: the cap must still free the partition
  }
}

function start(messaging: MessagingModuleOptions): Promise<INestApplication> {
  return startMessagingApp({ messaging, controllers: [Handlers] });
}

const consumerOptions = (groupId: string) => ({
  groupId,
  fromBeginning: true,
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 100,
  retryDelaysMs: [20, 20, 20],
  retryTopicDelaysMs: [], // straight to the dead-letter topic: parking has its own suite
  maxProcessingMs: 60_000,
});

describe('MessagingServer on Kafka (the test broker)', () => {
  let app: INestApplication;
  let bus: EventBus;
  let kafka: Kafka;
  let producer: Producer;
  const dlqConsumers: Consumer[] = [];

  beforeAll(async () => {
    app = await start({ kafka: { brokers: kafkaBrokers() }, consumer: consumerOptions(GROUP) });
    bus = app.get(EventBus);
    kafka = new Kafka({
      clientId: uniquePrefix('raw'),
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer();
    await producer.connect();
  }, 60_000);

  afterAll(async () => {
    for (const consumer of dlqConsumers) await consumer.disconnect();
    await producer?.disconnect();
    await app?.close();
  });

  /** Everything written to a dead-letter topic, headers decoded. */
  async function deadLetters(topic: string) {
    const into: { key: string | null; value: string; headers: Record<string, string> }[] = [];
    const consumer = kafka.consumer({
      groupId: uniquePrefix('dlq-reader'),
      maxWaitTimeInMs: 100,
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
    });
    dlqConsumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: `${topic}.${GROUP}.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        into.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
        });
      },
    });
    return into;
  }

  it('runs the @EventPattern handler with the CloudEvent, in the publisher’s correlation id, trace context and actor', async () => {
    const published = await RequestContext.run(
      { correlationId: 'corr-consume-1', traceparent: TRACEPARENT, actor: 'alice' },
      () =>
        bus.publish(T.seen, { type: 'order.created', key: 'o-1', data: { id: 'o-1', total: 3 } }),
    );
    const [delivery] = await waitFor(() => (seen.length > 0 ? seen : undefined), {
      timeoutMs: 30_000,
    });
    expect(delivery).toMatchObject({
      correlationId: 'corr-consume-1',
      traceparent: TRACEPARENT,
      actor: 'alice',
      attempt: 1,
      data: { id: 'o-1', total: 3 },
      event: {
        id: published.event.id,
        type: 'order.created',
        source: '/orders',
        specversion: '1.0',
        data: { id: 'o-1', total: 3 },
      },
    });
  }, 40_000);

  it('retries a failing handler in process and commits once it succeeds: no dead letter', async () => {
    const { event } = await bus.publish(T.flaky, { type: 't', key: 'k', data: 1 });
    await waitFor(() => calls.get(event.id) === 3, { timeoutMs: 30_000 });
    // A later record of the same partition is processed, so the flaky one was committed.
    const next = await bus.publish(T.flaky, { type: 't', key: 'k', data: 2 });
    await waitFor(() => (calls.get(next.event.id) ?? 0) >= 3, { timeoutMs: 30_000 });
    expect(calls.get(event.id)).toBe(3);
    const dlq = await deadLetters(T.flaky);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(dlq).toEqual([]);
  }, 60_000);

  it('dead-letters a record after the last attempt, with every keel-dlt header, and goes on', async () => {
    const { event } = await bus.publish(T.poison, { type: 't', key: 'poison-key', data: { n: 1 } });
    const dlq = await deadLetters(T.poison);
    const [letter] = await waitFor(() => (dlq.length > 0 ? dlq : undefined), { timeoutMs: 30_000 });
    expect(calls.get(event.id)).toBe(4);
    expect(letter!.key).toBe('poison-key');
    expect(letter!.value).toBe('{"n":1}');
    expect(letter!.headers).toMatchObject({
      ce_id: event.id,
      ce_type: 't',
      'keel-dlt-original-topic': T.poison,
      'keel-dlt-original-partition': expect.stringMatching(/^[0-3]$/),
      'keel-dlt-original-offset': expect.stringMatching(/^\d+$/),
      'keel-dlt-consumer-group': GROUP,
      'keel-dlt-exception-code': 'Error',
      'keel-dlt-exception-message': 'poison: cannot apply',
      'keel-dlt-attempts': '4',
    });
    expect(letter!.headers['keel-dlt-exception-stacktrace']).toContain('onPoison');
  }, 60_000);

  it('dead-letters a 4xx failure at once, without retrying it', async () => {
    const { event } = await bus.publish(T.invalid, { type: 't', key: 'x', data: {} });
    const dlq = await deadLetters(T.invalid);
    const [letter] = await waitFor(() => (dlq.length > 0 ? dlq : undefined), { timeoutMs: 30_000 });
    expect(calls.get(event.id)).toBe(1);
    expect(letter!.headers).toMatchObject({
      'keel-dlt-exception-code': 'BadRequestException',
      'keel-dlt-exception-message': 'amount must be positive',
      'keel-dlt-attempts': '1',
    });
  }, 60_000);

  it('dead-letters malformed JSON and records that are not CloudEvents at once, untouched', async () => {
    await producer.send({
      topic: T.seen,
      messages: [
        {
          key: 'bad-json',
          value: '{"oops',
          headers: { ce_specversion: '1.0', ce_id: 'b1', ce_source: '/x', ce_type: 't' },
        },
        { key: 'plain', value: '{"not":"a cloudevent"}' },
        {
          key: 'no-id',
          value: '{}',
          headers: { ce_specversion: '1.0', ce_source: '/x', ce_type: 't' },
        },
      ],
    });
    const dlq = await deadLetters(T.seen);
    await waitFor(() => dlq.length === 3, { timeoutMs: 30_000 });
    const byKey = Object.fromEntries(dlq.map((letter) => [letter.key, letter]));
    expect(byKey['bad-json']!.value).toBe('{"oops');
    for (const key of ['bad-json', 'plain', 'no-id']) {
      expect(byKey[key]!.headers).toMatchObject({
        'keel-dlt-exception-code': 'KEEL_MESSAGING_MALFORMED_EVENT',
        'keel-dlt-attempts': '0',
      });
    }
    expect(byKey['bad-json']!.headers['keel-dlt-exception-message']).toMatch(/not JSON/);
    expect(byKey['plain']!.headers['keel-dlt-exception-message']).toMatch(/not a CloudEvent/);
    expect(byKey['no-id']!.headers['keel-dlt-exception-message']).toMatch(/id is missing/);
    expect(seen.filter((s) => ['b1'].includes(s.event.id))).toEqual([]);
  }, 60_000);

  it('keeps a handler running three session timeouts in its group: no rebalance, no redelivery', async () => {
    const first = await bus.publish(T.slow, { type: 't', key: 's', data: 1 });
    const second = await bus.publish(T.slow, { type: 't', key: 's', data: 2 });
    await waitFor(() => calls.get(second.event.id) === 1, { timeoutMs: 60_000 });
    expect(calls.get(first.event.id)).toBe(1);
    expect(app.get(MessagingServer).consumerState()).toBe('joined');
  }, 90_000);

  it('aborts a runaway handler at maxProcessingMs through its signal and dead-letters the record', async () => {
    const runaway = uniquePrefix('runaway-group');
    const other = await start({
      kafka: { brokers: kafkaBrokers() },
      consumer: { ...consumerOptions(runaway), maxProcessingMs: 300, retryDelaysMs: [] },
    });
    try {
      const { event } = await bus.publish(T.runaway, { type: 't', key: 'r', data: 1 });
      const consumer = kafka.consumer({
        groupId: uniquePrefix('dlq-reader'),
        maxWaitTimeInMs: 100,
        sessionTimeout: 6000,
        heartbeatInterval: 1000,
      });
      dlqConsumers.push(consumer);
      const dlq: Record<string, string>[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: `${T.runaway}.${runaway}.dlq`, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {}))
            headers[name] = String(value);
          dlq.push(headers);
        },
      });
      const [headers] = await waitFor(() => (dlq.length > 0 ? dlq : undefined), {
        timeoutMs: 30_000,
      });
      expect(headers).toMatchObject({
        'keel-dlt-exception-code': 'KEEL_MESSAGING_HANDLER_TIMEOUT',
        'keel-dlt-attempts': '1',
      });
      expect(calls.get(event.id)).toBeGreaterThanOrEqual(1);
      expect(runawayAborted).toMatchObject({ code: 'KEEL_MESSAGING_HANDLER_TIMEOUT' });
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe('MessagingServer on the embedded transport', () => {
  it('delivers, retries and dead-letters as on Kafka', async () => {
    const group = uniquePrefix('memory');
    const app = await start({ consumer: { ...consumerOptions(group), fromBeginning: false } });
    try {
      const bus = app.get(EventBus);
      const memory = app.get<MemoryTransport>(MessageTransport);
      expect(memory).toBeInstanceOf(MemoryTransport);
      const before = seen.length;
      const ok = await RequestContext.run({ correlationId: 'corr-memory' }, () =>
        bus.publish(T.seen, { type: 't', key: 'm', data: 'hello' }),
      );
      const poison = await bus.publish(T.poison, { type: 't', key: 'p', data: 'x' });
      const flaky = await bus.publish(T.flaky, { type: 't', key: 'f', data: 'y' });
      await waitFor(() => memory.records(`${T.poison}.${group}.dlq`).length === 1);
      await waitFor(() => calls.get(flaky.event.id) === 3);
      const delivered = await waitFor(() =>
        seen.slice(before).find((s) => s.event.id === ok.event.id),
      );
      expect(delivered).toMatchObject({ correlationId: 'corr-memory', data: 'hello' });
      expect(calls.get(poison.event.id)).toBe(4);
      expect(memory.records(`${T.poison}.${group}.dlq`)[0]!.headers).toMatchObject({
        'keel-dlt-original-topic': T.poison,
        'keel-dlt-original-offset': '0',
        'keel-dlt-attempts': '4',
        'keel-dlt-exception-message': 'poison: cannot apply',
      });
      expect(memory.records(`${T.flaky}.${group}.dlq`)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('refuses a @MessagePattern handler at startup, naming it', async () => {
    const { MessagePattern } = await import('@nestjs/microservices');
    @Controller()
    class RequestReply {
      @MessagePattern('sum')
      sum() {
        return 1;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        MessagingModule.forRoot(),
      ],
      controllers: [RequestReply],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: app.get(MessagingServer) });
    try {
      await expect(app.startAllMicroservices()).rejects.toThrow(
        /cannot serve the pattern sum: @MessagePattern is request-response/,
      );
    } finally {
      await app.close();
    }
  });
});
