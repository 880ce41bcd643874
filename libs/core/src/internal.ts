/**
 * `@keel/core/internal`: what Keel's own libs share that applications should not use. No
 * stability promise: it changes with the libs that use it. Applications import `@keel/core`.
 * @packageDocumentation
 */
export {
  resolveModuleSettings,
  envVariableNames,
  SettingsProblems,
  type EnvValueKind,
  type ModuleSettingsSpec,
} from './config/module-settings.js';
export { withDeadline } from './async/deadline.js';
export type { KeelMetricDefinitions } from './metrics/metric-definitions.js';
export { redisRequired } from './core.messages.js';
