export { HealthModule } from './health.module.js';
export { KeelHealthService } from './health.service.js';
export type {
  HealthModuleOptions,
  HealthModuleExtras,
} from './interfaces/health-options.interface.js';
export {
  HEALTH_ERRORS,
  type HealthErrorCode,
  HealthError,
  HealthProbeError,
  isHealthProbeError,
} from './health.errors.js';
