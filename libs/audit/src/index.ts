export { AuditModule } from './audit.module.js';
export type { AuditModuleOptions } from './interfaces/audit-options.interface.js';
