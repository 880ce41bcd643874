import { Inject, Injectable } from '@nestjs/common';
import type { ServiceInstance } from './interfaces/instance.interface.js';
import { ServiceDiscovery, type ChooseOptions } from './service-discovery.js';

/** Options of one {@link ServiceHttpClient.fetch} call. @publicApi */
export interface ServiceFetchInit extends RequestInit {
  /** How to choose the instance (strategy, key, filters). */
  readonly choose?: ChooseOptions;
  /**
   * Which responses count as failures for outlier ejection.
   * @default status >= 500
   */
  readonly isFailure?: (response: Response) => boolean;
}

/**
 * `fetch` for service URLs: `http://payments/charge` goes to an instance of `payments` chosen
 * through {@link ServiceDiscovery} (scheme, path and query kept). It counts calls in flight
 * (least-outstanding) and feeds passive outlier ejection: network errors and 5xx responses
 * count as failures. It does not retry — put `@Retry` / `@CircuitBreaker` from
 * @keel/coordination on the method that calls it; each retry chooses again.
 *
 * @example
 * ```ts
 * const res = await http.fetch('http://payments/charge', { method: 'POST', body });
 * ```
 * @throws NoInstanceAvailableError when no instance is eligible (map it to 503 at the edge).
 * @publicApi
 */
@Injectable()
export class ServiceHttpClient {
  constructor(@Inject(ServiceDiscovery) private readonly discovery: ServiceDiscovery) {}

  async fetch(url: string | URL, init: ServiceFetchInit = {}): Promise<Response> {
    const { choose, isFailure = (r: Response) => r.status >= 500, ...request } = init;
    const target = new URL(url);
    // The first call to a service nobody listed in `discover` waits for one read, not a miss.
    if (!this.discovery.isLoaded(target.hostname)) await this.discovery.refresh(target.hostname);
    const instance = this.discovery.choose(target.hostname, choose);
    const resolved = resolveUrl(target, instance);
    const done = this.discovery.track(instance);
    try {
      const response = await fetch(resolved, request);
      done(!isFailure(response));
      return response;
    } catch (error) {
      done(false);
      throw error;
    }
  }

  /** The URL a service URL resolves to for one instance (no call is made). */
  resolve(url: string | URL, options?: ChooseOptions): URL {
    const target = new URL(url);
    return resolveUrl(target, this.discovery.choose(target.hostname, options));
  }
}

function resolveUrl(target: URL, instance: ServiceInstance): URL {
  const resolved = new URL(target.href);
  resolved.hostname = instance.address.host.includes(':')
    ? `[${instance.address.host}]`
    : instance.address.host;
  resolved.port = String(instance.address.port);
  return resolved;
}
