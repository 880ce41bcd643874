import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { KeelHealthCheck, KeelHealthReport } from '@keel/core';
import { KEEL_HEALTH_INDICATOR } from '@keel/core/internal';

/** One readiness check and the key it reports under. @internal */
export interface NamedCheck {
  readonly key: string;
  readonly check: () => Promise<KeelHealthReport>;
}

/**
 * Finds every provider marked `@KeelHealthIndicator({ key })` in the application. Nest's
 * `DiscoveryService` indexes the marked classes as their modules are scanned, so this asks for
 * them by the decorator's key instead of reading the metadata of every provider.
 * @internal
 */
@Injectable()
export class HealthIndicatorExplorer {
  constructor(@Inject(DiscoveryService) private readonly discovery: DiscoveryService) {}

  /** The marked providers' checks, in discovery order; instances not (yet) created are skipped. */
  explore(): NamedCheck[] {
    const checks: NamedCheck[] = [];
    const wrappers = this.discovery.getProviders({ metadataKey: KEEL_HEALTH_INDICATOR.KEY });
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (instance === null || typeof instance !== 'object') continue;
      const options = this.discovery.getMetadataByDecorator(KEEL_HEALTH_INDICATOR, wrapper);
      if (options === undefined) continue;
      const indicator = instance as KeelHealthCheck;
      checks.push({ key: options.key, check: () => indicator.check() });
    }
    return checks;
  }
}
