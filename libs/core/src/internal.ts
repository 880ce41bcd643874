/**
 * `@keel/core/internal`: what Keel's own libraries need from the kernel and applications should
 * not touch — DI tokens, the method-policy engine's building blocks, key-template compilation,
 * config-section parsing, Redis and promise helpers. Nothing here is covered by semver: it
 * changes whenever the libraries that use it change. Applications import `@keel/core` only (the
 * lint config enforces it for the demo).
 *
 * @packageDocumentation
 * @internal
 */
export { KEEL_CORE_OPTIONS, KEEL_CORE_SETTINGS } from './core.constants.js';
export { resolveCoreSettings } from './core.settings.js';
export { CORE_METRICS } from './core.metrics.js';

export { parseConfigSection } from './config/keel-config.js';

export {
  compileKeyTemplate,
  type KeyBuilder,
  type KeyTemplateSite,
} from './key-template/key-template.js';
export { readParameterNames } from './key-template/parameter-names.js';

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
} from './engine/trampoline.js';
export { PolicyFactoryFor } from './engine/policy-factory.decorator.js';

export { closeRedisClient } from './redis/redis-connection.factory.js';
export { sendNow } from './redis/redis-script.js';

export { outcomeOf, isPromiseLike } from './timed/timed.policy.js';

export {
  resolveModuleSettings,
  envVariableNames,
  settingSource,
  SettingsProblems,
  type EnvValueKind,
  type ModuleSettingsSpec,
} from './config/module-settings.js';
export {
  moduleSettingsProvider,
  type ModuleSettingsProviderSpec,
} from './config/settings-provider.js';
export { withDeadline } from './async/deadline.js';
export type { KeelMetricDefinitions } from './metrics/metric-definitions.js';
export { redisRequired } from './core.messages.js';
export { KEEL_HEALTH_INDICATOR } from './health/health-indicator.js';

export { uuidV7 } from './ids/uuid-v7.js';
export { RPC_ERROR_SINK } from './context/context.constants.js';
export { createPgPool, dataSourcePgPool } from './postgres/pg-pool.js';
