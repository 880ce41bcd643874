import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { CircuitBreakerRegistry } from './breaker/circuit-breaker.registry.js';

/**
 * Readiness of the coordination module: every breaker and its state. `degraded` while any breaker
 * is open, half-open or isolated, or while fleet breakers cannot reach their shared store;
 * `down` while a breaker marked `critical: true` is open or isolated.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'breakers' })
export class CoordinationHealthIndicator implements KeelHealthCheck {
  constructor(@Inject(CircuitBreakerRegistry) private readonly registry: CircuitBreakerRegistry) {}

  async check(): Promise<KeelHealthReport> {
    const breakers: Record<string, string> = {};
    let degraded = false;
    let down = false;
    for (const breaker of this.registry.list()) {
      breakers[breaker.name] = breaker.state;
      if (breaker.state === 'closed') continue;
      degraded = true;
      if (breaker.policy.critical && breaker.state !== 'half-open') down = true;
    }
    const fleet = this.registry.fleetStatus();
    if (fleet.breakers > 0 && !fleet.available) degraded = true;
    return {
      status: down ? 'down' : degraded ? 'degraded' : 'up',
      details: {
        breakers,
        ...(fleet.breakers > 0
          ? {
              fleet: {
                store: fleet.store,
                available: fleet.available,
                ...(fleet.lastError ? { lastError: fleet.lastError } : {}),
              },
            }
          : {}),
      },
    };
  }
}
