import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { KeelHealthReport } from '@keel/core';
import type { NamedCheck } from './health-indicator.explorer.js';

/**
 * Runs one Keel check through Terminus' `HealthIndicatorService`:
 * `check(key).attempt(fn).withTimeout(ms)` gives the time limit (the check is reported `down`
 * with Terminus' `timeout of <ms>ms exceeded`) and `responseTime`. An attempt knows only `up`
 * (the function returned) and `down` (it threw or timed out), so the status a Keel check
 * returns — `degraded`, or `down` with its details — is applied to the attempt's result here.
 * @internal
 */
export async function runKeelCheck(
  indicators: HealthIndicatorService,
  named: NamedCheck,
  timeoutMs: number,
): Promise<HealthIndicatorResult> {
  const session = indicators.check(named.key);
  const reported: { status?: KeelHealthReport['status'] } = {};
  try {
    const result = await session
      .attempt(async () => {
        const report = await named.check();
        reported.status = report.status;
        return { ...report.details };
      })
      .withTimeout(timeoutMs);
    const { status, ...details } = result[named.key];
    // A timeout is `down` even if the check answered after it.
    if (status === 'down' || reported.status === 'up') return result;
    return reported.status === 'degraded' ? session.degraded(details) : session.down(details);
  } catch (error) {
    // Terminus refuses details that use its reserved keys (status, responseTime,
    // cachedResponse): the check is reported down, saying so, instead of failing /health/ready.
    return session.down({ message: error instanceof Error ? error.message : String(error) });
  }
}
