import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { type KeelCoreSettings, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { KEEL_CORE_SETTINGS, KEEL_HEALTH_INDICATOR } from '@keel/core/internal';
import { DatabaseHealthCheck } from './database.health.js';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition.js';
import type { HealthModuleOptions } from './interfaces/health-options.interface.js';
import { RedisHealthCheck } from './redis.health.js';

interface NamedCheck {
  readonly key: string;
  readonly check: () => Promise<KeelHealthReport>;
}

/**
 * Collects every readiness check of the application — Keel's Redis and database checks and each
 * provider marked `@KeelHealthIndicator()` — and runs them through Terminus, each with a time
 * limit, in parallel.
 * @publicApi
 */
@Injectable()
export class KeelHealthService implements OnModuleInit {
  private checks: NamedCheck[] = [];
  private readonly timeoutMs: number;

  constructor(
    @Inject(HEALTH_MODULE_OPTIONS) private readonly options: HealthModuleOptions,
    @Inject(KEEL_CORE_SETTINGS) settings: KeelCoreSettings,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(HealthCheckService) private readonly terminus: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(RedisHealthCheck) private readonly redis: RedisHealthCheck,
    @Inject(DatabaseHealthCheck) private readonly database: DatabaseHealthCheck,
  ) {
    this.timeoutMs = options.timeoutMs ?? settings.config.healthTimeoutMs;
  }

  async onModuleInit(): Promise<void> {
    const checks: NamedCheck[] = [];
    const redis = this.options.redis ?? 'auto';
    if (redis === true || (redis === 'auto' && this.redis.configured)) {
      checks.push({ key: 'redis', check: () => this.redis.check() });
    }
    const database = this.options.database ?? 'auto';
    if (database !== false && (await this.database.resolve(database === true))) {
      checks.push({ key: 'database', check: () => this.database.check() });
    }
    for (const wrapper of this.discovery.getProviders({ metadataKey: KEEL_HEALTH_INDICATOR.KEY })) {
      const { instance } = wrapper;
      if (instance === null || typeof instance !== 'object') continue;
      const meta = this.discovery.getMetadataByDecorator(KEEL_HEALTH_INDICATOR, wrapper);
      if (meta === undefined) continue;
      const indicator = instance as KeelHealthCheck;
      if (checks.some((c) => c.key === meta.key)) continue;
      checks.push({ key: meta.key, check: () => indicator.check() });
    }
    this.checks = checks;
  }

  /** Keys of the readiness checks in force. */
  get keys(): readonly string[] {
    return this.checks.map((c) => c.key);
  }

  /** Liveness: the process answers. Dependencies are not checked, so a lost database never restarts pods. */
  live(): Promise<HealthCheckResult> {
    return this.terminus.check([
      () => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) }),
    ]);
  }

  /**
   * Readiness: every check. Resolves with the result (status `ok` or `degraded`); rejects with
   * Terminus' 503 error, whose body names each failing check and why, when any is down.
   */
  ready(): Promise<HealthCheckResult> {
    return this.terminus.check(this.checks.map((c) => this.toIndicator(c)));
  }

  private toIndicator(named: NamedCheck): HealthIndicatorFunction {
    return async (): Promise<HealthIndicatorResult> => {
      const session = this.indicators.check(named.key);
      const report = await withTimeout(named.check(), this.timeoutMs).catch(
        (error: unknown): KeelHealthReport => ({
          status: 'down',
          details: { message: error instanceof Error ? error.message : String(error) },
        }),
      );
      const details = { ...report.details };
      if (report.status === 'down') return session.down(details);
      if (report.status === 'degraded') return session.degraded(details);
      return session.up(details);
    };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`check timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
