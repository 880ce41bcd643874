import { Logger, type Provider } from '@nestjs/common';
import { moduleSettingsProvider } from '@keel/core/internal';
import { AUDIT_SETTINGS } from './audit.constants.js';
import { AuditError } from './audit.errors.js';
import { postgresStoreUnconfigured, storeLine } from './audit.messages.js';
import { AUDIT_MODULE_OPTIONS } from './audit.module-definition.js';
import { DEFAULT_FILE_STORE_DIRECTORY, resolveAuditSettings } from './audit.settings.js';
import { FileAuditStore } from './stores/file-audit.store.js';
import { PostgresAuditStore } from './stores/postgres-audit.store.js';
import type { AuditSettings } from './interfaces/audit-options.interface.js';
import { AuditStore } from './stores/audit.store.js';
import { AuditCommitHub } from './writer/audit-commit-hub.js';

/**
 * Builds the configured store. The PostgreSQL store loads `pg` and `pg-copy-streams` with
 * `import()` in `init()`, so an application on the file store never loads them.
 * @internal
 */
export function createAuditStore(settings: AuditSettings): AuditStore {
  const logger = new Logger('KeelAudit');
  const option = settings.store;
  if (option.type === 'custom') {
    logger.log(storeLine({ kind: option.store.kind, where: 'custom store' }));
    return option.store;
  }
  if (option.type === 'file') {
    const directory = option.directory ?? DEFAULT_FILE_STORE_DIRECTORY;
    logger.log(storeLine({ kind: 'the embedded file store', where: directory }));
    return new FileAuditStore({ directory });
  }
  if (option.url === undefined && option.dataSource === undefined) {
    throw new AuditError('KEEL_AUDIT_UNAVAILABLE', postgresStoreUnconfigured());
  }
  logger.log(
    storeLine({
      kind: 'PostgreSQL',
      where:
        option.url !== undefined ? describeDatabase(option.url) : "the application's DataSource",
    }),
  );
  return new PostgresAuditStore({
    ...(option.url !== undefined ? { url: option.url } : {}),
    ...(option.dataSource !== undefined ? { dataSource: option.dataSource } : {}),
    tablePrefix: settings.tablePrefix,
    ...(option.hardening === true ? { hardening: true } : {}),
    ...(option.sink !== undefined ? { sink: option.sink } : {}),
  });
}

/** `host:port/database` of a PostgreSQL URL, never its user or password. */
function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/** @internal */
export const auditProviders: Provider[] = [
  moduleSettingsProvider({
    provide: AUDIT_SETTINGS,
    options: AUDIT_MODULE_OPTIONS,
    resolve: resolveAuditSettings,
  }),
  {
    provide: AuditStore,
    useFactory: (settings: AuditSettings) => createAuditStore(settings),
    inject: [AUDIT_SETTINGS],
  },
  AuditCommitHub,
];
