export { KeelCoreModule, resolveCoreSettings } from './core.module.js';
export { KEEL_CORE_OPTIONS, KEEL_CORE_SETTINGS } from './core.constants.js';
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
} from './keel.errors.js';
export { KeelExceptionFilter, keelErrorBody, type KeelErrorBody } from './keel-exception.filter.js';
export type { KeelCoreModuleExtras } from './core.module-definition.js';

export {
  loadKeelConfig,
  parseConfigSection,
  KEEL_ENV_VARIABLES,
  type KeelConfig,
  type LoadKeelConfigOptions,
} from './config/keel-config.js';
export { keelZodErrorMap, describeAccepted } from './config/zod-messages.js';

export { RequestContext, type RequestInfo } from './context/request-context.js';
export {
  CORRELATION_ID_HEADER,
  TRACEPARENT_HEADER,
  TENANT_HEADER,
} from './context/context.constants.js';

export {
  compileKeyTemplate,
  escapeKeyValue,
  type KeyTemplate,
  type KeyBuilder,
  type KeyTemplateSite,
} from './key-template/key-template.js';
export { readParameterNames } from './key-template/parameter-names.js';

export { POLICY_ORDER, type PolicyKind } from './engine/policy.constants.js';
export type {
  HandlerType,
  Invocation,
  Next,
  PolicyDeclaration,
  PolicyFactory,
  PolicyInterceptor,
  PolicyTarget,
} from './engine/policy.interfaces.js';
export {
  createPolicyDecorator,
  copyMethodMetadata,
  getMethodPolicies,
  withoutPolicies,
} from './engine/trampoline.js';
export { PolicyFactoryFor } from './engine/policy-factory.decorator.js';

export { KeelMetrics, type KeelMetricsOptions } from './metrics/keel-metrics.js';
export {
  FastHistogram,
  type FastHistogramChild,
  type FastHistogramConfiguration,
} from './metrics/fast-histogram.js';

export {
  RedisConnectionFactory,
  closeRedisClient,
  describeTarget,
  type KeelRedisClient,
  type TrackedRedisConnection,
} from './redis/redis-connection.factory.js';
export type { KeelRedisOptions } from './redis/redis.interfaces.js';
export { RedisScript } from './redis/redis-script.js';

export { Timed, type TimedOptions } from './timed/timed.decorator.js';
export { METHOD_DURATION_METRIC, outcomeOf, isPromiseLike } from './timed/timed.policy.js';

export {
  KeelHealthIndicator,
  KEEL_HEALTH_INDICATOR_METADATA,
  type KeelHealthCheck,
  type KeelHealthReport,
  type KeelHealthIndicatorOptions,
} from './health/health-indicator.js';
