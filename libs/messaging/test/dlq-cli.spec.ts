import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, KeelMetrics, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  Idempotent,
  MessagingModule,
  MessagingServer,
  type KeelCloudEvent,
} from '@keel/messaging';
import { kafkaBrokers, redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

/** The built command, as `npx keel-messaging` runs it (`npm test` builds first). */
const CLI = join(process.cwd(), 'libs/messaging/dist/cli/keel-messaging.js');
const TOPIC = uniquePrefix('replay');
const GROUP = uniquePrefix('replay-group');
const DLQ = `${TOPIC}.${GROUP}.dlq`;
const EVENTS = 1_000;

const downstream = { broken: true };
const effects = new Map<string, number>();

@Controller()
class Ledger {
  @EventPattern<Record<string, KeelCloudEvent>>(TOPIC)
  @Idempotent({ key: '{event.source}:{event.id}' })
  apply(@Payload() event: KeelCloudEvent) {
    if (downstream.broken) throw new Error('ledger database is read-only');
    effects.set(event.id, (effects.get(event.id) ?? 0) + 1);
  }
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function keelMessaging(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : (error.code as number | null),
          stdout,
          stderr,
          ms: Date.now() - started,
        }),
    );
  });
}

describe('keel-messaging dlq', () => {
  let app: INestApplication;
  const brokers = () => ['--brokers', kafkaBrokers().join(',')];

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'ledger',
          redis: redisUrl(),
          redisKeyPrefix: `${uniquePrefix('replay')}:`,
          config: loadKeelConfig({ env: {} }),
        }),
        MessagingModule.forRoot({
          kafka: { brokers: kafkaBrokers() },
          consumer: {
            groupId: GROUP,
            fromBeginning: true,
            sessionTimeoutMs: 6_000,
            maxWaitTimeMs: 100,
            retryDelaysMs: [],
            retryTopicDelaysMs: [],
          },
        }),
      ],
      controllers: [Ledger],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.init();
    const bus = app.get(EventBus);
    for (let i = 0; i < EVENTS; i++) {
      await bus.publish(TOPIC, { type: 'entry.posted', key: `account-${i % 20}`, data: { i } });
    }
    const deadLettered = async () =>
      /keel_messaging_dead_lettered_total\{[^}]*\} (\d+)/.exec(
        await app.get(KeelMetrics).render(),
      )?.[1];
    await waitFor(async () => (await deadLettered()) === String(EVENTS), {
      timeoutMs: 60_000,
      message: `${EVENTS} dead letters`,
    });
  }, 90_000);

  afterAll(async () => {
    await app?.close();
  });

  it('lists every dead letter, filters by key, and inspects one with its headers and value', async () => {
    const all = await keelMessaging(['dlq', 'list', '--topic', DLQ, '--json', ...brokers()]);
    expect(all.code).toBe(0);
    const lines = all.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines).toHaveLength(EVENTS);
    expect(lines[0]).toMatchObject({
      originalTopic: TOPIC,
      group: GROUP,
      code: 'Error',
      message: 'ledger database is read-only',
      attempts: '1',
      type: 'entry.posted',
    });
    const one = await keelMessaging([
      'dlq',
      'list',
      '--topic',
      DLQ,
      '--key',
      'account-7',
      ...brokers(),
    ]);
    expect(one.stdout.trim().split('\n')).toHaveLength(EVENTS / 20);
    expect(one.stderr).toContain(`${EVENTS / 20} dead letters (key account-7)`);
    const first = lines[0]!;
    const inspect = await keelMessaging([
      'dlq',
      'inspect',
      '--topic',
      DLQ,
      '--partition',
      String(first['partition']),
      '--offset',
      String(first['offset']),
      ...brokers(),
    ]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain(`ce_id: ${first['id']}`);
    expect(inspect.stdout).toContain('keel-dlt-exception-message: ledger database is read-only');
    expect(inspect.stdout).toMatch(/value: \{"i":\d+\}/);
  }, 60_000);

  it('replays 1 000 dead letters at the rate asked, twice: each effect is applied once', async () => {
    downstream.broken = false;
    const replay = () =>
      keelMessaging(['dlq', 'replay', '--topic', DLQ, '--rate', '500', ...brokers()]);
    const first = await replay();
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`replayed ${EVENTS} dead letters`));
    // 1 000 records at 500/s cannot leave in less than ~2 s.
    expect(Number(/in ([\d.]+) s/.exec(first.stdout)![1])).toBeGreaterThanOrEqual(1.9);
    await waitFor(() => effects.size === EVENTS, {
      timeoutMs: 60_000,
      message: `${EVENTS} effects`,
    });
    const second = await replay();
    expect(second.code).toBe(0);
    const skipped = async () =>
      Number(
        /keel_messaging_duplicates_skipped_total\{[^}]*\} (\d+)/.exec(
          await app.get(KeelMetrics).render(),
        )?.[1] ?? 0,
      );
    await waitFor(async () => (await skipped()) === EVENTS, {
      timeoutMs: 60_000,
      message: `${EVENTS} duplicates skipped`,
    });
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
    expect(effects.size).toBe(EVENTS);
  }, 120_000);

  it('answers bad usage with exit code 2 and a broker it cannot reach with 3', async () => {
    const noTopic = await keelMessaging(['dlq', 'list', ...brokers()]);
    expect(noTopic.code).toBe(2);
    expect(noTopic.stderr).toContain('--topic <dead-letter topic> is required');
    expect(
      (await keelMessaging(['dlq', 'list', '--topic', 'orders', ...brokers()])).stderr,
    ).toContain('must name a dead-letter topic');
    expect((await keelMessaging(['dlq', 'purge', '--topic', DLQ, ...brokers()])).code).toBe(2);
    expect((await keelMessaging(['dlq', 'list', '--topic', DLQ])).stderr).toContain('no brokers');
    const unreachable = await keelMessaging([
      'dlq',
      'list',
      '--topic',
      DLQ,
      '--brokers',
      '127.0.0.1:1',
    ]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot read');
  }, 60_000);
});
