import { Inject, Injectable } from '@nestjs/common';
import { KeelArgumentError, KeelDecoratorError, KeelMetrics } from '@keel/core';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { EventSource, type KeelEvent } from '../events.js';
import { BreakerFleet } from './breaker-fleet.js';
import {
  CircuitBreaker,
  type BreakerRejectionEvent,
  type BreakerStateChangeEvent,
  type ResolvedBreakerPolicy,
} from './circuit-breaker.js';
import type { BreakerState } from './stores/breaker.store.js';
import { breakerDeclaredTwice, unknownBreaker } from '../coordination.messages.js';

const STATE_VALUE: Record<BreakerState, number> = {
  closed: 0,
  open: 1,
  'half-open': 2,
  isolated: 1,
};

/**
 * Every circuit breaker of the application, by name. Inject it to list breakers, force one open
 * (`isolate`) or close it (`reset`) — fleet-wide for fleet breakers — and to subscribe to every
 * breaker's events at once.
 *
 * @example
 * ```ts
 * constructor(private readonly breakers: CircuitBreakerRegistry) {}
 * async maintenance() { await this.breakers.isolate('payments'); }
 * ```
 * @publicApi
 */
@Injectable()
export class CircuitBreakerRegistry {
  private readonly byName = new Map<
    string,
    { breaker: CircuitBreaker; fingerprint: string; site: string }
  >();
  private readonly stateChange = new EventSource<BreakerStateChangeEvent>();
  private readonly rejection = new EventSource<BreakerRejectionEvent>();

  /** Fires on any breaker's transition. */
  readonly onStateChange: KeelEvent<BreakerStateChangeEvent> = this.stateChange.subscribe;
  /** Fires when any breaker refuses a call. */
  readonly onCallRejected: KeelEvent<BreakerRejectionEvent> = this.rejection.subscribe;

  constructor(
    @Inject(KeelMetrics) private readonly metrics: KeelMetrics,
    @Inject(BreakerFleet) private readonly fleet: BreakerFleet,
  ) {
    const list = () => this.list();
    const reported = new Map<string, number>();
    metrics.counter({
      ...COORDINATION_METRICS.breakerCalls,
      // Counted in plain integers on the call path and turned into counter increments at scrape
      // time, so recording an outcome costs no label lookup.
      collect() {
        for (const breaker of list()) {
          for (const [outcome, value] of Object.entries(breaker.counters)) {
            const key = `${breaker.name}\u0000${outcome}`;
            const delta = value - (reported.get(key) ?? 0);
            if (delta > 0)
              this.inc(
                {
                  name: breaker.name,
                  outcome:
                    outcome === 'successes'
                      ? 'success'
                      : outcome === 'failures'
                        ? 'failure'
                        : outcome,
                },
                delta,
              );
            reported.set(key, value);
          }
        }
      },
    });
  }

  /** Every breaker. */
  list(): readonly CircuitBreaker[] {
    return [...this.byName.values()].map((e) => e.breaker);
  }

  /** The breaker of that name, or `undefined`. */
  get(name: string): CircuitBreaker | undefined {
    return this.byName.get(name)?.breaker;
  }

  /**
   * Forces the breaker open until {@link reset}.
   * @throws Error for an unknown name.
   */
  async isolate(name: string): Promise<void> {
    await this.require(name).isolate();
  }

  /**
   * Closes the breaker and clears its window.
   * @throws Error for an unknown name.
   */
  async reset(name: string): Promise<void> {
    await this.require(name).reset();
  }

  /** Status of the fleet link (shared breakers). */
  fleetStatus() {
    return this.fleet.status();
  }

  /**
   * The breaker for a policy, created on first use. Several methods may share a breaker by name,
   * but only with the same options.
   * @internal
   */
  obtain(policy: ResolvedBreakerPolicy, fingerprint: string, site: string): CircuitBreaker {
    const existing = this.byName.get(policy.name);
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        throw new KeelDecoratorError(
          breakerDeclaredTwice({ site, name: policy.name, firstSite: existing.site }),
        );
      }
      return existing.breaker;
    }
    const breaker = new CircuitBreaker(policy);
    const gauge = this.metrics.gauge({
      ...COORDINATION_METRICS.breakerState,
    });
    gauge.set({ name: policy.name }, 0);
    breaker.onStateChange((event) => {
      gauge.set({ name: event.breaker }, STATE_VALUE[event.to]);
      this.stateChange.emit(event);
    });
    breaker.onCallRejected((event) => this.rejection.emit(event));
    if (policy.store === 'redis') this.fleet.register(breaker);
    this.byName.set(policy.name, { breaker, fingerprint, site });
    return breaker;
  }

  private require(name: string): CircuitBreaker {
    const breaker = this.get(name);
    if (breaker === undefined) {
      throw new KeelArgumentError(unknownBreaker({ name, known: [...this.byName.keys()] }));
    }
    return breaker;
  }
}
