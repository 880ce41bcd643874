export { HealthModule } from './health.module.js';
export { KeelHealthService } from './health.service.js';
export type { HealthModuleOptions } from './interfaces/health-options.interface.js';
export type { HealthModuleExtras } from './health.module-definition.js';
