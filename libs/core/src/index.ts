export { KeelCoreModule } from './core.module.js';
export { InjectKeelCoreSettings } from './core.constants.js';
export type {
  KeelContextRoute,
  KeelCoreOptions,
  KeelCoreSettings,
  KeelRequestContextOptions,
} from './interfaces/core-options.interface.js';

export {
  CORE_ERRORS,
  CoreError,
  type CoreErrorCode,
  KeelError,
  isKeelError,
  type KeelErrorCodeInfo,
  type KeelErrorCodes,
  type KeelErrorOptions,
  type KeelErrorResponseFields,
  KeelConfigError,
  isKeelConfigError,
  KeelDecoratorError,
  KeelPolicyNotInitializedError,
  KeyTemplateValueError,
  KeelRedisClosedError,
  KeelArgumentError,
  KeelDeadlineError,
  InvalidTenantError,
} from './core.errors.js';
export { KeelExceptionFilter, keelErrorBody, type KeelErrorBody } from './keel-exception.filter.js';
export type { KeelCoreModuleExtras } from './core.module-definition.js';

export {
  loadKeelConfig,
  KEEL_ENV_VARIABLES,
  type KeelConfig,
  type LoadKeelConfigOptions,
} from './config/keel-config.js';
export type { KeelConfigSource } from './config/config-service.js';
export { keelZodErrorMap, describeAccepted } from './config/zod-messages.js';

export { RequestContext, type RequestInfo } from './context/request-context.js';
export {
  CORRELATION_ID_HEADER,
  TRACEPARENT_HEADER,
  TENANT_HEADER,
} from './context/context.constants.js';

export { escapeKeyValue, type KeyTemplate } from './key-template/key-template.js';

export { POLICY_ORDER, type PolicyKind } from './engine/policy.constants.js';
export { withoutPolicies } from './engine/trampoline.js';

export { KeelMetrics, type KeelMetricsOptions } from './metrics/keel-metrics.js';
export {
  FastHistogram,
  type FastHistogramChild,
  type FastHistogramConfiguration,
} from './metrics/fast-histogram.js';

export {
  RedisConnectionFactory,
  describeTarget,
  type KeelRedisClient,
  type TrackedRedisConnection,
} from './redis/redis-connection.factory.js';
export type { KeelRedisOptions } from './redis/redis.interfaces.js';
export { RedisScript } from './redis/redis-script.js';

export { Timed, type TimedOptions } from './timed/timed.decorator.js';
export { METHOD_DURATION_METRIC } from './timed/timed.policy.js';

export {
  KeelHealthIndicator,
  type KeelHealthCheck,
  type KeelHealthReport,
  type KeelHealthIndicatorOptions,
} from './health/health-indicator.js';
