import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { REGISTRY_SETTINGS } from './registry.constants.js';
import { RegistrationService } from './registration.service.js';
import { ServiceDiscovery } from './service-discovery.js';

/**
 * Readiness of the registry: `up` when this instance is registered with a recent heartbeat and
 * every discovery cache is fresh; `degraded` when a cache is stale (registry unreachable,
 * serving the last known good lists) or the last heartbeat is older than the TTL (the record
 * may have expired; calls still work). Details hold ids and ages, never connection strings.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'registry' })
export class RegistryHealthIndicator implements KeelHealthCheck {
  constructor(
    @Inject(RegistrationService) private readonly registration: RegistrationService,
    @Inject(ServiceDiscovery) private readonly discovery: ServiceDiscovery,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  async check(): Promise<KeelHealthReport> {
    const state = this.registration.state();
    const now = Date.now();
    const heartbeatAgeMs =
      state.lastHeartbeatAt === undefined ? undefined : now - state.lastHeartbeatAt;
    const caches = this.discovery.cacheStates();
    const stale = caches.filter((c) => c.stale).map((c) => c.service);
    const heartbeatLate =
      state.enabled &&
      (heartbeatAgeMs === undefined || heartbeatAgeMs > this.settings.ttlMs || !state.registered);
    return {
      status: stale.length > 0 || heartbeatLate ? 'degraded' : 'up',
      details: {
        ...(state.enabled
          ? {
              service: state.service,
              instanceId: state.instanceId,
              registered: state.registered,
              draining: state.draining,
              heartbeatAgeMs: heartbeatAgeMs ?? null,
            }
          : { registered: 'discovery only' }),
        staleServices: stale,
        maxCacheAgeMs: caches.reduce(
          (max, c) => (Number.isFinite(c.ageMs) && c.ageMs > max ? c.ageMs : max),
          0,
        ),
      },
    };
  }
}
