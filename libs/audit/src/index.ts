export { AuditModule } from './audit.module.js';
export type {
  AuditAnomaly,
  AuditAnomalyOptions,
  AuditChainOptions,
  AuditCheckpointOptions,
  AuditDataSource,
  AuditModuleOptions,
  AuditRedactionOptions,
  AuditReportOptions,
  AuditRetentionOptions,
  AuditSink,
  AuditStoreOption,
  AuditWriteMode,
  AuditWriterOptions,
} from './interfaces/audit-options.interface.js';
export {
  AUDIT_LEVELS,
  AUDIT_OUTCOMES,
  BUILT_IN_AUDIT_CATEGORIES,
  type AuditCategory,
  type AuditCategoryRegistry,
  type AuditChainHead,
  type AuditCheckpoint,
  type AuditEventInput,
  type AuditJson,
  type AuditLevel,
  type AuditOutcome,
  type AuditRecord,
  type AuditResource,
  type PreparedAuditEvent,
} from './audit-event.js';
export {
  GENESIS_HASH,
  HASHED_FIELDS,
  canonicalEvent,
  canonicalJson,
  checkpointSigningInput,
  eventHash,
  linkBatch,
  linkEvents,
  type CheckpointBody,
} from './chain/chain-format.js';
export {
  AuditStore,
  InjectAuditStore,
  type AppendOptions,
  type AuditEntityManager,
  type AuditFilter,
  type AuditPageRequest,
  type AuditPartition,
  type AuditPosition,
} from './stores/audit.store.js';
export { AUDIT_ERRORS, AuditError, isAuditError, type AuditErrorCode } from './audit.errors.js';
export { FileAuditStore, type FileAuditStoreOptions } from './stores/file-audit.store.js';
export {
  PostgresAuditStore,
  type PostgresAuditStoreOptions,
} from './stores/postgres-audit.store.js';
export {
  AuditQueryService,
  type AuditExportFormat,
  type AuditPage,
  type AuditQueryOptions,
} from './query/audit-query.service.js';
export { AnomalyDetector, type AuditAnomalyListener } from './anomaly/anomaly-detector.js';
export { AuditService, type AuditRecordOptions } from './audit.service.js';
export { AuditHealthIndicator } from './audit.health.js';
export {
  Audited,
  type AuditChangeSet,
  type AuditChangesExtractor,
  type AuditedCapture,
  type AuditedOptions,
} from './audited/audited.decorator.js';
export { AuditIntegrityService } from './chain/audit-integrity.service.js';
export {
  AuditVerifier,
  type AuditBreak,
  type AuditBreakReason,
  type AuditChainReport,
  type AuditVerifyReport,
} from './chain/audit-verifier.js';
export { CheckpointSigner } from './chain/checkpoint-signer.js';
export { AuditReportService } from './reports/audit-report.service.js';
export {
  AUDIT_REPORT_KINDS,
  type AuditReport,
  type AuditReportKind,
  type AuditReportRequest,
  type AuditReportRow,
  type AuditReportSummary,
  type AuditReportTally,
} from './reports/audit-report.js';
export type { AuditReportFormat } from './reports/report-render.js';
export {
  AuditRetentionService,
  type AuditPurgeReport,
  type AuditPurgeStop,
  type AuditPurgedPartition,
} from './retention/audit-retention.service.js';
export { AuditController, type AuditHttpOptions } from './http/audit.controller.js';
export {
  auditMigrations,
  type AuditMigration,
  type AuditMigrationClass,
  type AuditMigrationOptions,
  type AuditMigrationRunner,
} from './stores/audit-migrations.js';
