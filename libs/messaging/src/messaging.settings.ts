import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  redisRequired,
  resolveModuleSettings,
  settingSource,
  type ModuleSettingsSpec,
} from '@keel/core/internal';
import { inboxNeedsDatabase } from './messaging.messages.js';
import { z } from 'zod';
import type {
  MessagingModuleOptions,
  MessagingSettings,
} from './interfaces/messaging-options.interface.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port');

const schema = z
  .object({
    kafka: z
      .object({
        brokers: z.array(hostPort).min(1).optional(),
        clientId: z.string().min(1).optional(),
        ssl: z.boolean().optional(),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .strict()
          .optional(),
        connectionTimeoutMs: z.number().int().positive().optional(),
        retries: z
          .number()
          .int()
          .min(1, 'must be at least 1 (an idempotent producer needs retries)')
          .max(100)
          .optional(),
      })
      .strict()
      .optional(),
    source: z.string().min(1).optional(),
    topics: z
      .record(
        z.string().min(1),
        z.object({ mode: z.enum(['binary', 'structured']).optional() }).strict(),
      )
      .optional(),
    warnAboveBytes: z.number().int().positive().optional(),
    outbox: z
      .object({
        enabled: z.boolean().optional(),
        url: z.string().startsWith('postgres', 'must be a postgres:// URL').optional(),
        dataSource: z.custom<object>((v) => typeof v === 'object' && v !== null).optional(),
        tablePrefix: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'must be a lowercase SQL identifier')
          .optional(),
        pollIntervalMs: z.number().int().positive().optional(),
        batchSize: z.number().int().positive().max(10_000).optional(),
        retryBaseMs: z.number().int().positive().optional(),
        retryMaxMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    idempotency: z
      .object({
        store: z.enum(['memory', 'redis', 'postgres']).optional(),
        ttlMs: z.number().int().positive().optional(),
        leaseMs: z.number().int().min(100).optional(),
        keyPrefix: z.string().max(64).optional(),
        url: z.string().startsWith('postgres', 'must be a postgres:// URL').optional(),
        dataSource: z
          .custom<object>(
            (v) =>
              typeof v === 'object' &&
              v !== null &&
              typeof (v as { transaction?: unknown }).transaction === 'function',
            'must be a TypeORM DataSource',
          )
          .optional(),
        tablePrefix: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'must be a lowercase SQL identifier')
          .optional(),
        pruneIntervalMs: z.number().int().min(1_000).optional(),
      })
      .strict()
      .optional(),
    consumer: z
      .object({
        groupId: z.string().min(1).max(249).optional(),
        fromBeginning: z.boolean().optional(),
        sessionTimeoutMs: z
          .number()
          .int()
          .min(6_000, "must be at least 6000 (Kafka's default group.min.session.timeout.ms)")
          .max(3_600_000)
          .optional(),
        maxWaitTimeMs: z.number().int().positive().max(60_000).optional(),
        partitionsConsumedConcurrently: z.number().int().min(1).max(1_000).optional(),
        retryDelaysMs: z.array(z.number().int().min(0).max(60_000)).max(10).optional(),
        retryTopicDelaysMs: z.array(z.number().int().min(0).max(86_400_000)).max(20).optional(),
        maxProcessingMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict() as unknown as z.ZodType<MessagingModuleOptions>;

/** The one place each default is written. @internal */
export const DEFAULTS = Object.freeze({
  kafka: Object.freeze({ ssl: false, connectionTimeoutMs: 3_000, retries: 5 }),
  topics: Object.freeze({}),
  warnAboveBytes: 65_536,
  outbox: Object.freeze({
    tablePrefix: 'keel_messaging',
    pollIntervalMs: 250,
    batchSize: 500,
    retryBaseMs: 200,
    retryMaxMs: 30_000,
  }),
  idempotency: Object.freeze({
    ttlMs: 604_800_000,
    leaseMs: 30_000,
    keyPrefix: 'idem:',
    tablePrefix: 'keel_messaging',
    pruneIntervalMs: 3_600_000,
  }),
  consumer: Object.freeze({
    fromBeginning: false,
    sessionTimeoutMs: 30_000,
    maxWaitTimeMs: 5_000,
    partitionsConsumedConcurrently: 1,
    retryDelaysMs: Object.freeze([100, 200, 400]),
    retryTopicDelaysMs: Object.freeze([1_000, 10_000, 60_000]),
    maxProcessingMs: 300_000,
  }),
});

/** How MessagingModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const MESSAGING_SETTINGS_SPEC: ModuleSettingsSpec<MessagingModuleOptions> = {
  section: 'messaging',
  moduleName: 'MessagingModule',
  schema,
  defaults: DEFAULTS,
  env: {
    source: 'string',
    'consumer.groupId': 'string',
    'consumer.maxProcessingMs': 'integer',
    'idempotency.store': 'string',
    'idempotency.ttlMs': 'integer',
  },
};

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_MESSAGING_*` variables > the YAML
 * section `messaging` > defaults. Brokers come from `kafka.brokers` or core's `KAFKA_BROKERS`;
 * without either, events stay in this process (the embedded transport).
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveMessagingSettings(
  options: MessagingModuleOptions,
  core: KeelCoreSettings,
): MessagingSettings {
  const resolved = resolveModuleSettings(
    MESSAGING_SETTINGS_SPEC,
    options,
    core.config,
  ) as unknown as Omit<
    MessagingSettings,
    'transport' | 'serviceName' | 'source' | 'kafka' | 'outbox' | 'consumer' | 'idempotency'
  > & {
    readonly idempotency: Omit<MessagingSettings['idempotency'], 'store'> & {
      readonly store?: MessagingSettings['idempotency']['store'];
    };
    readonly consumer: Omit<MessagingSettings['consumer'], 'groupId' | 'heartbeatIntervalMs'> & {
      readonly groupId?: string;
    };
    readonly source?: string;
    readonly kafka: MessagingSettings['kafka'] & { readonly brokers?: readonly string[] };
    readonly outbox: Omit<MessagingSettings['outbox'], 'enabled'> & { readonly enabled?: boolean };
  };
  const brokers = resolved.kafka.brokers ?? core.config.kafkaBrokers ?? [];
  return {
    ...resolved,
    transport: brokers.length > 0 ? 'kafka' : 'memory',
    kafka: {
      ...resolved.kafka,
      brokers,
      clientId: resolved.kafka.clientId ?? core.serviceName,
    },
    source: resolved.source ?? `/${core.serviceName}`,
    outbox: outboxSettings(resolved.outbox, core.config.databaseUrl),
    consumer: {
      ...resolved.consumer,
      groupId: resolved.consumer.groupId ?? core.serviceName,
      heartbeatIntervalMs: Math.floor(resolved.consumer.sessionTimeoutMs / 3),
    },
    idempotency: idempotencySettings(resolved.idempotency, options, core),
    serviceName: core.serviceName,
  };
}

/** The store defaults to Redis when core has it; Redis or PostgreSQL asked for but absent stops startup. */
function idempotencySettings(
  idempotency: Omit<MessagingSettings['idempotency'], 'store'> & {
    readonly store?: MessagingSettings['idempotency']['store'];
  },
  options: MessagingModuleOptions,
  core: KeelCoreSettings,
): MessagingSettings['idempotency'] {
  const store = idempotency.store ?? (core.redis !== undefined ? 'redis' : 'memory');
  const key = () =>
    settingSource(MESSAGING_SETTINGS_SPEC, options, core.config, 'idempotency.store');
  if (store === 'redis' && core.redis === undefined) {
    throw new KeelConfigError([redisRequired({ key: key(), asked: "'redis'" })]);
  }
  const url =
    idempotency.url ?? (idempotency.dataSource === undefined ? core.config.databaseUrl : undefined);
  if (store === 'postgres' && url === undefined && idempotency.dataSource === undefined) {
    throw new KeelConfigError([inboxNeedsDatabase({ key: key() })]);
  }
  return { ...idempotency, store, ...(url !== undefined ? { url } : {}) };
}

/** The outbox is on when a database is at hand, unless `enabled: false`; its URL defaults to core's. */
function outboxSettings(
  outbox: Omit<MessagingSettings['outbox'], 'enabled'> & { readonly enabled?: boolean },
  databaseUrl: string | undefined,
): MessagingSettings['outbox'] {
  const url = outbox.url ?? (outbox.dataSource === undefined ? databaseUrl : undefined);
  const available = url !== undefined || outbox.dataSource !== undefined;
  if (outbox.enabled === true && !available) {
    throw new KeelConfigError([
      'messaging.outbox.enabled: the outbox needs PostgreSQL — set DATABASE_URL, outbox.url or outbox.dataSource',
    ]);
  }
  const requested =
    outbox.enabled === true || outbox.url !== undefined || outbox.dataSource !== undefined;
  return {
    ...outbox,
    ...(url !== undefined ? { url } : {}),
    enabled: (outbox.enabled ?? true) && available,
    requested,
  };
}
