import { z } from 'zod';
import { loadKeelConfig, parseConfigSection, type KeelConfig } from './config/keel-config.js';
import { redisKeyPrefixSchema, redisUrlSchema, serviceNameSchema } from './config/value-schemas.js';
import { TENANT_HEADER } from './context/context.constants.js';
import type {
  KeelCoreModuleExtras,
  KeelCoreOptions,
  KeelCoreSettings,
} from './interfaces/core-options.interface.js';

// Core's own variables (KEEL_SERVICE_NAME, REDIS_URL…) are not KEEL_CORE_*: they predate the
// module sections and every deployment sets them. `loadKeelConfig` reads them (environment over
// the YAML file over DEFAULTS); `resolveCoreSettings` puts the `forRoot` options over that, so
// the precedence is the skeleton's one, per key: forRoot > environment > YAML > DEFAULTS.

const plainObject = (what: string) =>
  z.custom<object>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    `must be ${what}`,
  );

const schema = z
  .object({
    serviceName: serviceNameSchema.optional(),
    redis: z
      .union([z.literal(false), redisUrlSchema, plainObject('ioredis options')], {
        error: 'must be a redis:// URL, ioredis options, { cluster: [...] } or false',
      })
      .optional(),
    redisKeyPrefix: redisKeyPrefixSchema.optional(),
    metrics: z
      .object({
        defaultLabels: z.record(z.string(), z.string()).optional(),
        defaultMetrics: z.boolean().optional(),
      })
      .strict()
      .optional(),
    // Validated, with its own defaults, by resolveRequestContextSettings.
    context: z.unknown().optional(),
    config: plainObject('a KeelConfig from loadKeelConfig()').optional(),
  })
  .strict();

/**
 * The one place each default of `KeelCoreOptions` is written (the TSDoc `@default`s are checked
 * against it). A default that is not a literal — every HTTP route for the request context,
 * `request.user.id / sub / username` for the actor — sits beside the code that applies it
 * (`request-context.settings.ts`) and is described in words.
 * @internal
 */
export const DEFAULTS = Object.freeze({
  serviceName: 'keel-service',
  redisKeyPrefix: 'keel:',
  metrics: Object.freeze({ defaultMetrics: false }),
  context: Object.freeze({ tenantHeader: TENANT_HEADER, interceptor: 'auto' as const }),
});

/** Defaults of the module-definition extras (`KeelCoreModuleExtras`). @internal */
export const EXTRAS_DEFAULTS: Readonly<Required<KeelCoreModuleExtras>> = Object.freeze({
  exceptionFilter: true,
});

/**
 * Defaults of the loaded configuration (`KeelConfig`), from {@link DEFAULTS} where an option
 * and a variable set the same thing; `port` is the application's, which core only reads.
 * @internal
 */
export const CONFIG_DEFAULTS = Object.freeze({
  serviceName: DEFAULTS.serviceName,
  redisKeyPrefix: DEFAULTS.redisKeyPrefix,
  port: 3_000,
  defaultMetrics: DEFAULTS.metrics.defaultMetrics,
});

/**
 * Resolves the core settings in force, per key: `forRoot` options > environment variables >
 * the YAML file > {@link DEFAULTS} (the last three through `loadKeelConfig`, or the `config`
 * option when given). `redis: false` forces the embedded stores even when `REDIS_URL` is set.
 * @throws KeelConfigError with one line per invalid option.
 * @internal
 */
export function resolveCoreSettings(options: KeelCoreOptions): KeelCoreSettings {
  const given = parseConfigSection(schema, options, 'KeelCoreModule', 'forRoot');
  const config: KeelConfig = options.config ?? loadKeelConfig();
  return {
    serviceName: given.serviceName ?? config.serviceName,
    redis: options.redis === false ? undefined : (options.redis ?? config.redisUrl),
    redisKeyPrefix: given.redisKeyPrefix ?? config.redisKeyPrefix,
    config,
  };
}
