import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { KeelConfigError } from '@keel/core';
import { DATABASE_CHECK_KEY, HEALTH_SETTINGS } from './health.constants.js';
import {
  dataSourceNotInitialized,
  databaseCheckEnabled,
  nestTypeormMissing,
  noDataSource,
  typeormMissing,
} from './health.messages.js';
import type { HealthSettings } from './interfaces/health-options.interface.js';

interface DataSourceLike {
  readonly isInitialized: boolean;
  readonly options: { readonly type: string };
}

/**
 * The readiness check of the application's TypeORM `DataSource`, run by Terminus'
 * `TypeOrmHealthIndicator` (`SELECT 1`, or the ping its driver needs). TypeORM and
 * @nestjs/typeorm are optional peers, loaded only when the check is on. What Keel adds: the
 * `type` of the database, `not initialized` without a query, and driver messages cut to their
 * first line (they name hosts, never credentials).
 * @internal
 */
@Injectable()
export class DatabaseHealthCheck {
  private readonly logger = new Logger('KeelHealth');
  private dataSource: DataSourceLike | undefined;
  private indicator: TypeOrmHealthIndicator | undefined;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(HEALTH_SETTINGS) private readonly settings: HealthSettings,
  ) {}

  /**
   * Finds the DataSource and the indicator that checks it; false when the check is off.
   * @throws KeelConfigError when the check is required (or a DataSource is there) but cannot run.
   */
  async resolve(): Promise<boolean> {
    const { database, databaseSource: source } = this.settings;
    if (database === false) return false;
    let DataSource: unknown;
    try {
      ({ DataSource } = await import('typeorm'));
    } catch {
      if (database === true) throw new KeelConfigError([typeormMissing({ source })]);
      return false;
    }
    try {
      this.dataSource = this.moduleRef.get(DataSource as new () => DataSourceLike, {
        strict: false,
      });
    } catch {
      this.dataSource = undefined;
    }
    if (this.dataSource === undefined) {
      if (database === true) throw new KeelConfigError([noDataSource({ source })]);
      return false;
    }
    try {
      // Terminus' indicator asserts it in its constructor, with a message that names no option.
      await import('@nestjs/typeorm');
    } catch {
      throw new KeelConfigError([nestTypeormMissing({ source, asked: String(database) })]);
    }
    this.indicator = await this.moduleRef.create(TypeOrmHealthIndicator);
    this.logger.debug(databaseCheckEnabled({ type: this.dataSource.options.type }));
    return true;
  }

  /** Checks the DataSource within `timeoutMs`. */
  async check(timeoutMs: number): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(DATABASE_CHECK_KEY);
    const dataSource = this.dataSource!;
    const type = dataSource.options.type;
    if (!dataSource.isInitialized) {
      return session.down({ type, message: dataSourceNotInitialized() });
    }
    const result = await this.indicator!.pingCheck(DATABASE_CHECK_KEY, {
      connection: dataSource,
    }).withTimeout(timeoutMs);
    const { status, ...details }: Record<string, unknown> = result[DATABASE_CHECK_KEY];
    const shown: Record<string, unknown> = { type, ...details };
    // Driver messages can span lines (a query echoed, a hint); the first says what failed.
    if (typeof details.message === 'string') shown.message = details.message.split('\n')[0];
    return status === 'up' ? session.up(shown) : session.down(shown);
  }
}
