import { Module, type DynamicModule } from '@nestjs/common';
import { AnomalyDetector } from './anomaly/anomaly-detector.js';
import { AuditHealthIndicator } from './audit.health.js';
import { AuditIntegrityService } from './chain/audit-integrity.service.js';
import { AuditQueryService } from './query/audit-query.service.js';
import { AuditReportService } from './reports/audit-report.service.js';
import { AuditRetentionService } from './retention/audit-retention.service.js';
import {
  AuditConfigurableModule,
  type AUDIT_ASYNC_OPTIONS_TYPE,
  type AUDIT_OPTIONS_TYPE,
} from './audit.module-definition.js';
import { auditProviders } from './audit.providers.js';
import { AuditService } from './audit.service.js';
import { AuditedPolicyFactory } from './audited/audited.policy.js';
import { AuditStore } from './stores/audit.store.js';
import { AuditCommitHub } from './writer/audit-commit-hub.js';
import { AuditWriter } from './writer/audit-writer.js';

/**
 * A tamper-evident audit trail: `AuditService.record()`, `@Audited`, hash-chained events in
 * PostgreSQL or local files, with a health indicator and metrics. Needs
 * `KeelCoreModule.forRoot()` in the application.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [KeelCoreModule.forRoot(), AuditModule.forRoot({ store: { type: 'postgres' } })],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  providers: [
    ...auditProviders,
    AuditWriter,
    AuditService,
    AuditedPolicyFactory,
    AuditHealthIndicator,
    AuditQueryService,
    AnomalyDetector,
    AuditIntegrityService,
    AuditReportService,
    AuditRetentionService,
  ],
  exports: [
    AuditService,
    AuditStore,
    AuditCommitHub,
    AuditQueryService,
    AnomalyDetector,
    AuditIntegrityService,
    AuditReportService,
    AuditRetentionService,
  ],
})
export class AuditModule extends AuditConfigurableModule {
  /** Registers the module; every option has a default. */
  static override forRoot(options: typeof AUDIT_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Registers the module with options from a factory (e.g. ConfigService). */
  static override forRootAsync(options: typeof AUDIT_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
