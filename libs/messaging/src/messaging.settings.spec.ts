import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { KeelConfigError, KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  documentedDefaults,
  undocumentedDefaults,
} from '../../../test/support/documented-defaults.js';
import { coreSettings } from '../../../test/support/core-settings.js';
import { MessagingModule } from './messaging.module.js';
import { DEFAULTS, resolveMessagingSettings } from './messaging.settings.js';

const OPTIONS_FILE = new URL('./interfaces/messaging-options.interface.ts', import.meta.url);

async function boot(env: Record<string, string>, options: object = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env }) }),
      MessagingModule.forRoot(options),
    ],
  }).compile();
  await moduleRef.close();
}

describe('MessagingModule settings', () => {
  it('documents every default with the value DEFAULTS holds', () => {
    expect(
      undocumentedDefaults(DEFAULTS, documentedDefaults(OPTIONS_FILE, 'MessagingModuleOptions')),
    ).toEqual([]);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });

  it('uses the embedded transport without brokers, Kafka with core’s KAFKA_BROKERS', () => {
    const embedded = resolveMessagingSettings(
      {},
      coreSettings({ env: { KEEL_SERVICE_NAME: 'orders' } }),
    );
    expect(embedded).toMatchObject({
      transport: 'memory',
      source: '/orders',
      kafka: { brokers: [], clientId: 'orders', connectionTimeoutMs: 3_000, retries: 5 },
      warnAboveBytes: 65_536,
    });
    const kafka = resolveMessagingSettings(
      {},
      coreSettings({
        env: { KAFKA_BROKERS: 'k1:9092,k2:9092', KEEL_MESSAGING_SOURCE: '/shop/orders' },
      }),
    );
    expect(kafka).toMatchObject({
      transport: 'kafka',
      source: '/shop/orders',
      kafka: { brokers: ['k1:9092', 'k2:9092'] },
    });
    // forRoot wins over the environment, per key.
    expect(
      resolveMessagingSettings(
        { kafka: { brokers: ['mine:9092'] } },
        coreSettings({ env: { KAFKA_BROKERS: 'k1:9092' } }),
      ).kafka.brokers,
    ).toEqual(['mine:9092']);
  });

  it('stops startup on bad options, one line per problem', async () => {
    const error = await boot(
      { KEEL_MESSAGING_TYPO: '1' },
      { kafka: { brokers: ['no-port'] }, topics: { orders: { mode: 'fancy' } } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      'KEEL_MESSAGING_TYPO: unknown variable of MessagingModule; known: KEEL_MESSAGING_SOURCE, KEEL_MESSAGING_CONSUMER_GROUP_ID, KEEL_MESSAGING_CONSUMER_MAX_PROCESSING_MS, KEEL_MESSAGING_IDEMPOTENCY_STORE, KEEL_MESSAGING_IDEMPOTENCY_TTL_MS',
      expect.stringMatching(/kafka\.brokers\.0.*must be host:port/),
      expect.stringMatching(/topics\.orders\.mode/),
    ]);
  });

  it('turns the outbox on with a database, off without; asked for without one, it stops startup', () => {
    expect(resolveMessagingSettings({}, coreSettings()).outbox).toMatchObject({
      enabled: false,
      requested: false,
    });
    expect(
      resolveMessagingSettings({}, coreSettings({ env: { DATABASE_URL: 'postgres://db/app' } }))
        .outbox,
    ).toMatchObject({ enabled: true, requested: false, url: 'postgres://db/app' });
    expect(() => resolveMessagingSettings({ outbox: { enabled: true } }, coreSettings())).toThrow(
      /messaging\.outbox\.enabled: the outbox needs PostgreSQL/,
    );
  });

  it('keeps @Idempotent keys in Redis when core has it, else in memory; a backend asked for but absent stops startup', () => {
    expect(resolveMessagingSettings({}, coreSettings()).idempotency).toMatchObject({
      store: 'memory',
      ttlMs: 604_800_000,
      leaseMs: 30_000,
    });
    expect(resolveMessagingSettings({}, coreSettings({ redis: true })).idempotency.store).toBe(
      'redis',
    );
    expect(
      resolveMessagingSettings(
        {},
        coreSettings({
          env: { KEEL_MESSAGING_IDEMPOTENCY_STORE: 'postgres', DATABASE_URL: 'postgres://db/app' },
        }),
      ).idempotency,
    ).toMatchObject({ store: 'postgres', url: 'postgres://db/app' });
    expect(() =>
      resolveMessagingSettings({ idempotency: { store: 'redis' } }, coreSettings()),
    ).toThrow(/MessagingModule\.idempotency\.store \(forRoot\): 'redis' needs Redis/);
    expect(() =>
      resolveMessagingSettings(
        {},
        coreSettings({ env: { KEEL_MESSAGING_IDEMPOTENCY_STORE: 'postgres' } }),
      ),
    ).toThrow(/KEEL_MESSAGING_IDEMPOTENCY_STORE: 'postgres' needs PostgreSQL/);
  });
});
