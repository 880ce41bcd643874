import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka as CloudEventsKafka, type CloudEventV1 } from 'cloudevents';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { KeelCoreModule, RequestContext, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  MemoryTransport,
  MessageTransport,
  MessagingError,
  MessagingModule,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { freePort } from '../../../test/support/fault-servers.js';
import { kafkaBrokers, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

// The mock answers an empty fetch only after maxWaitTimeInMs and holds a first group join ~3 s.
const CONSUMER_TIMING = { maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 1000 };
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

interface Received {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
  readonly timestamp: string;
}

describe('EventBus', () => {
  const apps: INestApplicationContext[] = [];
  const consumers: Consumer[] = [];
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.disconnect();
    for (const app of apps.splice(0)) await app.close();
  });

  async function boot(options: MessagingModuleOptions = {}, env: Record<string, string> = {}) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'orders',
          redis: false,
          config: loadKeelConfig({ env }),
        }),
        MessagingModule.forRoot(options),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    apps.push(app);
    return app;
  }

  async function consume(topic: string): Promise<Received[]> {
    const kafka = new Kafka({
      clientId: uniquePrefix('test'),
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: uniquePrefix('group'), ...CONSUMER_TIMING });
    consumers.push(consumer);
    const into: Received[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          headers[name] = String(value);
        }
        into.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
          timestamp: message.timestamp,
        });
      },
    });
    return into;
  }

  /** A received record through the `cloudevents` package's own Kafka binding. */
  const asCloudEvent = (record: Received): CloudEventV1<unknown> =>
    CloudEventsKafka.toEvent({
      key: record.key ?? undefined,
      value: record.value,
      headers: record.headers,
      timestamp: record.timestamp,
    } as never) as CloudEventV1<unknown>;

  describe('on Kafka (the test broker)', () => {
    it('publishes a binary-mode CloudEvent with the correlation id and trace context of the work', async () => {
      const topic = uniquePrefix('orders');
      const app = await boot({ kafka: { brokers: kafkaBrokers() } });
      const bus = app.get(EventBus);
      expect(bus.transportKind).toBe('kafka');
      const published = await RequestContext.run(
        { correlationId: 'corr-42', traceparent: TRACEPARENT },
        () =>
          bus.publish(topic, {
            type: 'order.created',
            key: 'o-1',
            subject: 'order/o-1',
            data: { id: 'o-1', total: 12.5 },
            headers: { 'x-tenant': 'acme' },
          }),
      );
      const received = await consume(topic);
      const [record] = await waitFor(async () => (received.length > 0 ? received : undefined));
      expect(record!.key).toBe('o-1');
      expect(record!.headers).toMatchObject({
        ce_specversion: '1.0',
        ce_type: 'order.created',
        ce_source: '/orders',
        'content-type': 'application/json',
        traceparent: TRACEPARENT,
        'x-tenant': 'acme',
      });
      const event = asCloudEvent(record!);
      expect(event).toMatchObject({
        specversion: '1.0',
        id: published.event.id,
        source: '/orders',
        type: 'order.created',
        subject: 'order/o-1',
        time: published.event.time,
        data: { id: 'o-1', total: 12.5 },
        correlationid: 'corr-42',
        traceparent: TRACEPARENT,
      });
      expect(event.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    });

    it('publishes structured mode where the topic asks for it', async () => {
      const topic = uniquePrefix('structured');
      const app = await boot({
        kafka: { brokers: kafkaBrokers() },
        source: '/shop/orders',
        topics: { [topic]: { mode: 'structured' } },
      });
      const published = await app
        .get(EventBus)
        .publish(topic, { type: 'order.paid', key: 'o-2', data: { id: 'o-2' } });
      const received = await consume(topic);
      const [record] = await waitFor(async () => (received.length > 0 ? received : undefined));
      expect(record!.headers['content-type']).toBe('application/cloudevents+json; charset=UTF-8');
      expect(Object.keys(record!.headers).filter((h) => h.startsWith('ce_'))).toEqual([]);
      expect(asCloudEvent(record!)).toMatchObject({
        id: published.event.id,
        source: '/shop/orders',
        type: 'order.paid',
        data: { id: 'o-2' },
      });
    });

    it('boots with Kafka unreachable (a warning), and publish() then fails with KEEL_MESSAGING_UNAVAILABLE', async () => {
      const warnings: string[] = [];
      const warn = Logger.prototype.warn;
      Logger.prototype.warn = function (message: unknown) {
        warnings.push(String(message));
      } as never;
      try {
        const port = await freePort();
        const app = await boot({
          kafka: { brokers: [`127.0.0.1:${port}`], retries: 1, connectionTimeoutMs: 500 },
        });
        expect(warnings.some((w) => w.includes('could not connect to Kafka'))).toBe(true);
        const error = await app
          .get(EventBus)
          .publish('orders', { type: 'order.created', data: {} })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MessagingError);
        expect(error).toMatchObject({ code: 'KEEL_MESSAGING_UNAVAILABLE', status: 503 });
      } finally {
        Logger.prototype.warn = warn;
      }
    });
  });

  describe('on the embedded transport (no brokers)', () => {
    it('keeps every record in order and tells subscribers after publish() resolves', async () => {
      const app = await boot();
      const bus = app.get(EventBus);
      expect(bus.transportKind).toBe('memory');
      const transport = app.get<MemoryTransport>(MessageTransport);
      const seen: string[] = [];
      transport.subscribe('orders', (record) => seen.push(record.headers['ce_id']!));
      const first = await bus.publish('orders', {
        type: 'order.created',
        key: 'o-1',
        data: { n: 1 },
      });
      expect(seen).toEqual([]); // never inside the publisher's call
      const second = await bus.publish('orders', {
        type: 'order.created',
        key: 'o-1',
        data: { n: 2 },
      });
      await waitFor(async () => (seen.length === 2 ? seen : undefined));
      expect(seen).toEqual([first.event.id, second.event.id]);
      expect(transport.records('orders').map((r) => [r.offset, r.key, r.value])).toEqual([
        [0, 'o-1', '{"n":1}'],
        [1, 'o-1', '{"n":2}'],
      ]);
      expect(
        asCloudEvent({
          ...transport.records('orders')[1]!,
          value: String(transport.records('orders')[1]!.value),
          timestamp: '0',
        }),
      ).toMatchObject({
        id: second.event.id,
        data: { n: 2 },
      });
    });

    it('refuses a malformed event before sending anything, naming every problem', async () => {
      const app = await boot();
      const bus = app.get(EventBus);
      const error = await bus
        .publish('bad topic!', {
          type: '',
          data: { big: 1n },
          headers: { ce_id: 'forged', 'x-n': 5 as unknown as string },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MessagingError);
      expect(error).toMatchObject({ code: 'KEEL_MESSAGING_INVALID_EVENT', status: 400 });
      const message = (error as Error).message;
      for (const field of ['topic', 'type', 'headers.ce_id', 'headers.x-n', 'data']) {
        expect(message).toContain(`event rejected: ${field} `);
      }
      expect(app.get<MemoryTransport>(MessageTransport).records('bad topic!')).toEqual([]);
    });

    it('refuses publishInTransaction without a database (KEEL_MESSAGING_OUTBOX_DISABLED)', async () => {
      const app = await boot();
      const manager = { query: async () => [] };
      await expect(
        app.get(EventBus).publishInTransaction(manager, 'orders', { type: 'x', data: 1 }),
      ).rejects.toMatchObject({ code: 'KEEL_MESSAGING_OUTBOX_DISABLED', status: 500 });
    });

    it('refuses events once shutdown began (KEEL_MESSAGING_SHUT_DOWN)', async () => {
      const app = await boot();
      const bus = app.get(EventBus);
      await app.close();
      apps.splice(apps.indexOf(app), 1);
      await expect(bus.publish('orders', { type: 'x', data: 1 })).rejects.toMatchObject({
        code: 'KEEL_MESSAGING_SHUT_DOWN',
      });
    });
  });
});
