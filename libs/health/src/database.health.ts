import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { KeelHealthReport } from '@keel/core';

interface DataSourceLike {
  readonly isInitialized: boolean;
  readonly options: { readonly type: string };
  query(sql: string): Promise<unknown>;
}

/**
 * Runs `SELECT 1` on the application's TypeORM DataSource. TypeORM is an optional peer: it is
 * loaded only when the check is enabled.
 * @internal
 */
@Injectable()
export class DatabaseHealthCheck {
  private readonly logger = new Logger('KeelHealth');
  private dataSource: DataSourceLike | undefined;

  constructor(private readonly moduleRef: ModuleRef) {}

  /** Finds the DataSource; returns false when there is none. */
  async resolve(required: boolean): Promise<boolean> {
    let DataSource: unknown;
    try {
      ({ DataSource } = await import('typeorm'));
    } catch {
      if (required) {
        throw new Error(
          'HealthModule: database check requested but typeorm is not installed (npm i typeorm)',
        );
      }
      return false;
    }
    try {
      this.dataSource = this.moduleRef.get(DataSource as new () => DataSourceLike, {
        strict: false,
      });
    } catch {
      this.dataSource = undefined;
    }
    if (this.dataSource === undefined && required) {
      throw new Error(
        'HealthModule: database check requested but no TypeORM DataSource is provided; import TypeOrmModule.forRoot() or set database: false',
      );
    }
    if (this.dataSource !== undefined) this.logger.debug('database readiness check enabled');
    return this.dataSource !== undefined;
  }

  async check(): Promise<KeelHealthReport> {
    const ds = this.dataSource;
    if (ds === undefined) return { status: 'down', details: { message: 'no DataSource' } };
    if (!ds.isInitialized) {
      return { status: 'down', details: { type: ds.options.type, message: 'not initialized' } };
    }
    const started = performance.now();
    try {
      await ds.query('SELECT 1');
    } catch (error) {
      // Driver messages can include host names but not credentials; keep only the first line.
      return {
        status: 'down',
        details: {
          type: ds.options.type,
          message: String((error as Error).message).split('\n')[0],
        },
      };
    }
    return {
      status: 'up',
      details: {
        type: ds.options.type,
        rttMs: Math.round((performance.now() - started) * 100) / 100,
      },
    };
  }
}
