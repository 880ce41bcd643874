import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { KeelDeadlineError, KeelMetrics } from '@keel/core';
import { withDeadline } from '@keel/core/internal';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import {
  fleetOnMemory,
  fleetRejoined,
  fleetUnreachable,
  storeTimedOut,
} from '../coordination.messages.js';
import type { CoordinationSettings } from '../interfaces/coordination-options.interface.js';
import { BreakerStore, type BreakerStateMessage, type ProbeGrant } from './stores/breaker.store.js';
import type { BreakerFleetLink } from './breaker-fleet-member.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** State of the fleet link, for health and tests. @publicApi */
export interface BreakerFleetStatus {
  /** Number of fleet-wide breakers in this application. */
  readonly breakers: number;
  readonly store: 'memory' | 'redis';
  /** False while the store is unreachable: every fleet breaker then decides locally. */
  readonly available: boolean;
  /** Last error talking to the store (message only, never connection details). */
  readonly lastError?: string;
}

/**
 * Keeps the application's fleet-wide breakers in step with the shared store. One timer flushes
 * the outcomes every breaker aggregated (one script call per breaker with outcomes, in one
 * round trip thanks to auto-pipelining) and periodically re-reads every state; state changes
 * arrive by pub/sub in between. When the store fails or is slower than `commandTimeoutMs`, every
 * fleet breaker switches to its local state machine; the timer keeps probing the store and the
 * breakers re-join (adopting the shared state) when it answers again.
 * @internal
 */
@Injectable()
export class BreakerFleet
  implements BreakerFleetLink, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('KeelCoordination');
  private readonly breakers = new Map<string, CircuitBreaker>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  private nextRefresh = 0;
  private lastError: string | undefined;
  private availableNow = false;
  private subscribed = false;

  constructor(
    @Inject(BreakerStore) private readonly store: BreakerStore,
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    const status = () => this.status();
    metrics.gauge({
      ...COORDINATION_METRICS.breakerStoreAvailable,
      collect() {
        const { breakers, available } = status();
        if (breakers > 0) this.set(available ? 1 : 0);
      },
    });
  }

  get available(): boolean {
    return this.availableNow;
  }

  /** Status for health output. */
  status(): BreakerFleetStatus {
    return {
      breakers: this.breakers.size,
      store: this.store.kind,
      available: this.availableNow,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Adds a fleet-wide breaker. @internal */
  register(breaker: CircuitBreaker): void {
    this.breakers.set(breaker.name, breaker);
    breaker.attachFleet(this);
  }

  onApplicationBootstrap(): void {
    if (this.breakers.size === 0) return;
    if (this.store.kind === 'memory') {
      this.logger.log(fleetOnMemory({ breakers: [...this.breakers.keys()] }));
    }
    this.timer = setInterval(() => void this.tick(), this.settings.fleet.flushIntervalMs);
    this.timer.unref();
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.store.close();
  }

  /** One flush/refresh round; also the re-join probe while the store is unreachable. @internal */
  async tick(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      if (!this.availableNow) {
        await this.withTimeout(this.store.ping());
        // Subscribe before reading, so no transition falls between the two.
        if (!this.subscribed) {
          await this.withTimeout(this.store.subscribe(this.onMessage));
          this.subscribed = true;
        }
        const names = [...this.breakers.values()];
        const snapshots = await this.withTimeout(
          Promise.all(names.map((b) => this.store.read(b.name))),
        );
        names.forEach((breaker, i) => breaker.applySnapshot(snapshots[i], true));
        this.availableNow = true;
        this.nextRefresh = Date.now() + this.settings.fleet.refreshIntervalMs;
        if (this.lastError !== undefined) {
          this.logger.log(fleetRejoined({ kind: this.store.kind }));
        }
        this.lastError = undefined;
        return;
      }
      const now = Date.now();
      const refresh = now >= this.nextRefresh;
      if (refresh) this.nextRefresh = now + this.settings.fleet.refreshIntervalMs;
      const work: Promise<void>[] = [];
      for (const breaker of this.breakers.values()) {
        const batch = breaker.takeBatch();
        if (batch !== undefined) {
          work.push(
            this.store
              .record(breaker.name, breaker.policy, batch)
              .then((s) => breaker.applySnapshot(s)),
          );
        } else if (refresh) {
          work.push(this.store.read(breaker.name).then((s) => breaker.applySnapshot(s)));
        }
      }
      if (work.length > 0) await this.withTimeout(Promise.all(work));
    } catch (error) {
      this.markUnavailable(error);
    } finally {
      this.busy = false;
    }
  }

  async acquireProbe(breaker: CircuitBreaker): Promise<ProbeGrant> {
    try {
      return await this.withTimeout(this.store.acquireProbe(breaker.name, breaker.policy));
    } catch (error) {
      this.markUnavailable(error);
      throw error;
    }
  }

  reportProbe(
    breaker: CircuitBreaker,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): void {
    this.withTimeout(this.store.reportProbe(breaker.name, breaker.policy, version, outcome)).then(
      (snapshot) => breaker.applySnapshot(snapshot),
      (error: unknown) => this.markUnavailable(error),
    );
  }

  async isolate(breaker: CircuitBreaker): Promise<void> {
    breaker.applySnapshot(await this.withTimeout(this.store.isolate(breaker.name)));
  }

  async reset(breaker: CircuitBreaker): Promise<void> {
    breaker.applySnapshot(await this.withTimeout(this.store.reset(breaker.name)));
  }

  private readonly onMessage = (message: BreakerStateMessage): void => {
    if (!this.availableNow) return;
    this.breakers.get(message.name)?.applySnapshot(message.snapshot);
  };

  private markUnavailable(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    if (!this.availableNow) return;
    this.availableNow = false;
    this.logger.warn(fleetUnreachable({ reason: this.lastError, breakers: this.breakers.size }));
    for (const breaker of this.breakers.values()) breaker.enterLocalMode();
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.settings.fleet.commandTimeoutMs;
    return withDeadline(promise, ms, () => new KeelDeadlineError(storeTimedOut({ ms })));
  }
}
