import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import { resolveModuleSettings, type ModuleSettingsSpec } from '@keel/core/internal';
import { z } from 'zod';
import { BUILT_IN_AUDIT_CATEGORIES } from './audit-event.js';
import type {
  AuditModuleOptions,
  AuditSettings,
  AuditStoreOption,
} from './interfaces/audit-options.interface.js';

const positive = z.number().int().positive();
const nonNegative = z.number().int().min(0);
const patterns = z.array(z.string().min(1));

const storeSchema = z.union(
  [
    z
      .object({
        type: z.literal('postgres'),
        url: z.string().startsWith('postgres', 'must be a postgres:// URL').optional(),
        dataSource: z.custom<object>((v) => typeof v === 'object' && v !== null).optional(),
        hardening: z.boolean().optional(),
        sink: z
          .custom<object>(
            (v) =>
              typeof v === 'object' &&
              v !== null &&
              typeof (v as { write?: unknown }).write === 'function',
            'must be an AuditSink (an object with write(transaction, records))',
          )
          .optional(),
      })
      .strict(),
    z.object({ type: z.literal('file'), directory: z.string().min(1).optional() }).strict(),
    z
      .object({
        type: z.literal('custom'),
        store: z.custom<object>((v) => typeof v === 'object' && v !== null),
      })
      .strict(),
  ],
  {
    error:
      "must be { type: 'postgres', url? | dataSource?, hardening?, sink? }, { type: 'file', directory? } or { type: 'custom', store }",
  },
);

// Functions (onAnomaly) and instances (dataSource, store) are accepted by shape here; the YAML
// section cannot hold them anyway.
const schema = z
  .object({
    store: storeSchema.optional(),
    categories: z
      .array(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be UPPER_SNAKE_CASE'))
      .optional(),
    writer: z
      .object({
        mode: z.enum(['async', 'sync']).optional(),
        bufferSize: positive.optional(),
        onFull: z.enum(['block', 'drop']).optional(),
        batchSize: positive.max(10_000).optional(),
        flushIntervalMs: positive.optional(),
        retryBaseMs: positive.optional(),
        retryMaxMs: positive.optional(),
        drainTimeoutMs: nonNegative.optional(),
        spoolDirectory: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    chain: z
      .object({ by: z.enum(['tenant', 'shard']).optional(), shards: positive.max(1024).optional() })
      .strict()
      .optional(),
    checkpoints: z
      .object({
        key: z
          .string()
          .min(32, 'must be an Ed25519 private key in PEM or a secret of at least 32 characters')
          .optional(),
        keyId: z.string().min(1).optional(),
        publicKey: z.string().min(1).optional(),
        intervalMs: positive.optional(),
        file: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    redaction: z
      .object({
        keys: z.array(z.string().min(1)).optional(),
        paths: z.array(z.string().min(1)).optional(),
        maxPayloadBytes: z.number().int().min(256).optional(),
      })
      .strict()
      .optional(),
    retention: z
      .object({
        defaultDays: positive.optional(),
        categories: z.record(z.string(), positive).optional(),
        intervalMs: nonNegative.optional(),
        legalHold: z
          .object({
            tenants: z.array(z.string().min(1)).optional(),
            resources: z
              .array(
                z.object({ type: z.string().min(1), id: z.string().min(1).optional() }).strict(),
              )
              .optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    anomalies: z
      .object({
        enabled: z.boolean().optional(),
        suppressMs: nonNegative.optional(),
        failedLogins: z
          .object({
            threshold: positive.optional(),
            windowMs: positive.optional(),
            actions: patterns.optional(),
          })
          .strict()
          .optional(),
        rateSpike: z
          .object({
            zScore: z.number().positive().optional(),
            minEvents: positive.optional(),
            bucketMs: positive.optional(),
            alpha: z.number().gt(0).lt(1).optional(),
          })
          .strict()
          .optional(),
        offHours: z
          .object({
            startHour: z.number().int().min(0).max(23).optional(),
            endHour: z.number().int().min(0).max(24).optional(),
            weekends: z.boolean().optional(),
            categories: z.array(z.string()).optional(),
          })
          .strict()
          .optional(),
        massExport: z.object({ rows: positive.optional() }).strict().optional(),
        privilegeChange: z.object({ actions: patterns.optional() }).strict().optional(),
        onAnomaly: z
          .custom<(...args: never[]) => unknown>((v) => typeof v === 'function')
          .optional(),
      })
      .strict()
      .optional(),
    reports: z
      .object({
        soxTag: z.string().min(1).optional(),
        phiTag: z.string().min(1).optional(),
        pseudonymKey: z.string().min(16).optional(),
      })
      .strict()
      .optional(),
    tablePrefix: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'must be a lowercase SQL identifier')
      .optional(),
  })
  .strict() as unknown as z.ZodType<AuditModuleOptions>;

/** The one place each default is written. `store` is computed (see resolveAuditSettings). @internal */
export const DEFAULTS = Object.freeze({
  categories: [],
  writer: Object.freeze({
    mode: 'async',
    bufferSize: 100_000,
    onFull: 'block',
    batchSize: 1_000,
    flushIntervalMs: 50,
    retryBaseMs: 100,
    retryMaxMs: 5_000,
    drainTimeoutMs: 30_000,
  }),
  chain: Object.freeze({ by: 'shard', shards: 16 }),
  checkpoints: Object.freeze({ keyId: 'default', intervalMs: 60_000 }),
  redaction: Object.freeze({ keys: [], paths: [], maxPayloadBytes: 16_384 }),
  retention: Object.freeze({
    categories: Object.freeze({}),
    intervalMs: 3_600_000,
    legalHold: Object.freeze({}),
  }),
  anomalies: Object.freeze({
    enabled: true,
    suppressMs: 600_000,
    failedLogins: Object.freeze({
      threshold: 5,
      windowMs: 300_000,
      actions: Object.freeze(['*.login', 'auth.*']),
    }),
    rateSpike: Object.freeze({ zScore: 4, minEvents: 20, bucketMs: 60_000, alpha: 0.1 }),
    offHours: Object.freeze({
      startHour: 7,
      endHour: 19,
      weekends: true,
      categories: Object.freeze(['DATA_ACCESS', 'DATA_CHANGE', 'EXPORT']),
    }),
    massExport: Object.freeze({ rows: 10_000 }),
    privilegeChange: Object.freeze({
      actions: Object.freeze(['*.role.*', '*.grant', '*.revoke', 'privilege.*']),
    }),
  }),
  reports: Object.freeze({ soxTag: 'sox', phiTag: 'phi' }),
  tablePrefix: 'keel_audit',
});

/** How AuditModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const AUDIT_SETTINGS_SPEC: ModuleSettingsSpec<AuditModuleOptions> = {
  section: 'audit',
  moduleName: 'AuditModule',
  schema,
  defaults: DEFAULTS,
  // What an operator sets per deployment; each is also in the root README's configuration table.
  env: {
    'writer.mode': 'string',
    'writer.bufferSize': 'integer',
    'writer.onFull': 'string',
    'writer.spoolDirectory': 'string',
    'chain.by': 'string',
    'checkpoints.key': 'secret',
    'checkpoints.keyId': 'string',
    'checkpoints.file': 'string',
    'retention.defaultDays': 'integer',
  },
  // Extra categories add up across sources.
  combine: {
    categories: (earlier, later) => [
      ...new Set([...(earlier as string[]), ...(later as string[])]),
    ],
  },
};

/** Directory of the file store when none is configured. @internal */
export const DEFAULT_FILE_STORE_DIRECTORY = '.keel/audit';

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_AUDIT_*` variables > the YAML
 * section `audit` > defaults, per key. A left-out `store` is PostgreSQL when core's
 * configuration has a database URL (`DATABASE_URL`), else the file store.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveAuditSettings(
  options: AuditModuleOptions,
  core: KeelCoreSettings,
): AuditSettings {
  const resolved = resolveModuleSettings(
    AUDIT_SETTINGS_SPEC,
    options,
    core.config,
  ) as unknown as Omit<AuditSettings, 'store' | 'serviceName'> & { store?: AuditStoreOption };
  const problems: string[] = [];
  const known = new Set<string>([...BUILT_IN_AUDIT_CATEGORIES, ...resolved.categories]);
  for (const category of Object.keys(resolved.retention.categories)) {
    if (!known.has(category)) {
      problems.push(
        `audit.retention.categories.${category}: unknown category; known: ${[...known].join(', ')}`,
      );
    }
  }
  const retains =
    resolved.retention.defaultDays !== undefined ||
    Object.keys(resolved.retention.categories).length > 0;
  if (retains && resolved.checkpoints.key === undefined) {
    problems.push(
      'audit.retention: a purge is anchored by a signed checkpoint, so retention needs audit.checkpoints.key (KEEL_AUDIT_CHECKPOINTS_KEY)',
    );
  }
  if (resolved.writer.spoolDirectory !== undefined && resolved.writer.mode === 'sync') {
    problems.push(
      'audit.writer.spoolDirectory: the spool makes async mode durable; sync mode already resolves after the commit — drop one of them',
    );
  }
  if (resolved.writer.batchSize > resolved.writer.bufferSize) {
    problems.push(
      `audit.writer.batchSize: ${resolved.writer.batchSize} is larger than writer.bufferSize (${resolved.writer.bufferSize})`,
    );
  }
  if (problems.length > 0) throw new KeelConfigError(problems);
  const databaseUrl = core.config.databaseUrl;
  const store: AuditStoreOption =
    resolved.store ??
    (databaseUrl !== undefined
      ? { type: 'postgres', url: databaseUrl }
      : { type: 'file', directory: DEFAULT_FILE_STORE_DIRECTORY });
  return { ...resolved, store, serviceName: core.serviceName };
}
