import { Module } from '@nestjs/common';
import { AuditConfigurableModule } from './audit.module-definition.js';
import { auditProviders } from './audit.providers.js';

/**
 * Module shell of @keel/audit (a tamper-evident audit trail): it follows the lib skeleton (forRoot /
 * forRootAsync, settings resolved and validated like every Keel module) but has no behaviour
 * yet — its issue has not been taken. Needs `KeelCoreModule.forRoot()`.
 * @publicApi
 */
@Module({ providers: auditProviders })
export class AuditModule extends AuditConfigurableModule {}
