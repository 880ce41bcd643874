import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { DatabaseHealthCheck } from './database.health.js';
import { runKeelCheck } from './health-check.runner.js';
import { HealthIndicatorExplorer } from './health-indicator.explorer.js';
import { DATABASE_CHECK_KEY, HEALTH_SETTINGS, REDIS_CHECK_KEY } from './health.constants.js';
import type { HealthSettings } from './interfaces/health-options.interface.js';
import { RedisHealthCheck } from './redis.health.js';

/**
 * Collects every readiness check of the application — Keel's Redis and database checks and each
 * provider marked `@KeelHealthIndicator()` — and runs them through Terminus, each with a time
 * limit, in parallel.
 * @publicApi
 */
@Injectable()
export class KeelHealthService implements OnModuleInit {
  private checks: { readonly key: string; readonly run: HealthIndicatorFunction }[] = [];

  constructor(
    @Inject(HEALTH_SETTINGS) private readonly settings: HealthSettings,
    @Inject(HealthCheckService) private readonly terminus: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(HealthIndicatorExplorer) private readonly explorer: HealthIndicatorExplorer,
    @Inject(RedisHealthCheck) private readonly redis: RedisHealthCheck,
    @Inject(DatabaseHealthCheck) private readonly database: DatabaseHealthCheck,
  ) {}

  async onModuleInit(): Promise<void> {
    const { timeoutMs } = this.settings;
    const checks: { key: string; run: HealthIndicatorFunction }[] = [];
    if (this.settings.redis) {
      const redis = { key: REDIS_CHECK_KEY, check: () => this.redis.check() };
      checks.push({ key: redis.key, run: () => runKeelCheck(this.indicators, redis, timeoutMs) });
    }
    if (await this.database.resolve()) {
      checks.push({ key: DATABASE_CHECK_KEY, run: () => this.database.check(timeoutMs) });
    }
    for (const named of this.explorer.explore()) {
      // The first check of a key wins: Keel's own, then discovery order.
      if (checks.some((c) => c.key === named.key)) continue;
      checks.push({ key: named.key, run: () => runKeelCheck(this.indicators, named, timeoutMs) });
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
    return this.terminus.check(this.checks.map((c) => c.run));
  }
}
