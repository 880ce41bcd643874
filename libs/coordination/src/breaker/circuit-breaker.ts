import { CircuitOpenError } from '../coordination.errors.js';
import { EventSource, type KeelEvent } from '../events.js';
import type {
  BreakerSnapshot,
  BreakerState,
  OutcomeBatch,
  ProbeGrant,
  SharedBreakerPolicy,
} from './stores/breaker.store.js';
import { CountWindow, FAILED, SLOW, TimeWindow, type SlidingWindow } from './sliding-window.js';

/** Call refused. @internal */
export const PERMIT_REJECTED = 0;
/** Normal call while closed. @internal */
export const PERMIT_CALL = 1;
/** Probe decided by this process. @internal */
export const PERMIT_PROBE = 2;
/** Probe slot granted by the fleet store. @internal */
export const PERMIT_SHARED_PROBE = 3;

/** How an error counts for a breaker. @internal */
export type ErrorKind = 'failure' | 'ignored' | 'success';

/** A breaker's policy with every default applied. @publicApi */
export interface ResolvedBreakerPolicy extends SharedBreakerPolicy {
  readonly name: string;
  readonly slowCallDurationMs: number | undefined;
  readonly store: 'local' | 'redis';
  readonly critical: boolean;
  /** @internal */
  readonly classify: (error: unknown) => ErrorKind;
}

/** Why a breaker changed state. @publicApi */
export type BreakerTransitionReason =
  | 'failure-rate'
  | 'slow-call-rate'
  | 'consecutive-failures'
  | 'open-expired'
  | 'probe-failed'
  | 'probes-succeeded'
  | 'isolated'
  | 'reset'
  | 'fleet';

/** Payload of `onStateChange`. @publicApi */
export interface BreakerStateChangeEvent {
  readonly breaker: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly reason: BreakerTransitionReason;
}

/** Payload of `onCallRejected`. @publicApi */
export interface BreakerRejectionEvent {
  readonly breaker: string;
  readonly state: BreakerState;
}

/** Payload of `onFailure`. @publicApi */
export interface BreakerFailureEvent {
  readonly breaker: string;
  readonly error: unknown;
}

/** How a fleet-wide breaker talks to its store. Implemented by the module's fleet service. @internal */
export interface BreakerFleetLink {
  /** False while the store is unreachable: the breaker then decides locally. */
  readonly available: boolean;
  acquireProbe(breaker: CircuitBreaker): Promise<ProbeGrant>;
  reportProbe(
    breaker: CircuitBreaker,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): void;
  isolate(breaker: CircuitBreaker): Promise<void>;
  reset(breaker: CircuitBreaker): Promise<void>;
}

/** Counters read by the metrics collector; plain numbers so the call path stays allocation-free. @internal */
export interface BreakerCounters {
  successes: number;
  failures: number;
  slow: number;
  ignored: number;
  rejected: number;
}

/**
 * A circuit breaker: a state machine over a sliding window of call outcomes. Local breakers
 * decide everything in process. A fleet breaker (`store: 'redis'`) keeps the same local window
 * (for when Redis is unreachable) and aggregates outcomes for the fleet service to flush; while
 * the fleet is reachable its state comes from the store, so the call path never waits on Redis
 * while closed or open.
 * @publicApi
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private openUntil = 0;
  private halfOpenSince = 0;
  private probesAdmitted = 0;
  private probeSuccesses = 0;
  private consecutive = 0;
  private readonly window: SlidingWindow;
  private readonly timeWindow: boolean;
  private readonly stateChange = new EventSource<BreakerStateChangeEvent>();
  private readonly rejection = new EventSource<BreakerRejectionEvent>();
  private readonly failureEvent = new EventSource<BreakerFailureEvent>();
  private readonly successEvent = new EventSource<{ readonly breaker: string }>();
  /** @internal */
  readonly counters: BreakerCounters = {
    successes: 0,
    failures: 0,
    slow: 0,
    ignored: 0,
    rejected: 0,
  };

  // Fleet mode: outcomes not yet flushed, and the last shared state seen.
  private fleet: BreakerFleetLink | undefined;
  private pendingCalls = 0;
  private pendingFailures = 0;
  private pendingSlow = 0;
  private pendingTrailing = 0;
  private pendingHadSuccess = false;
  private sharedVersion = -1;
  private sharedEpoch = '';
  private sharedProbes = 0;
  private probeVersion = 0;

  /** Fires on every transition (including those pushed by other replicas). */
  readonly onStateChange: KeelEvent<BreakerStateChangeEvent> = this.stateChange.subscribe;
  /** Fires when a call is refused. */
  readonly onCallRejected: KeelEvent<BreakerRejectionEvent> = this.rejection.subscribe;
  /** Fires when a call fails in a way that counts against the breaker. */
  readonly onFailure: KeelEvent<BreakerFailureEvent> = this.failureEvent.subscribe;
  /** Fires when a call succeeds. */
  readonly onSuccess: KeelEvent<{ readonly breaker: string }> = this.successEvent.subscribe;

  constructor(readonly policy: ResolvedBreakerPolicy) {
    this.timeWindow = policy.slidingWindow === 'time';
    this.window = this.timeWindow
      ? new TimeWindow(policy.windowSize)
      : new CountWindow(policy.windowSize);
  }

  /** The breaker's name. */
  get name(): string {
    return this.policy.name;
  }

  /** Current state, as this process enforces it. */
  get state(): BreakerState {
    return this.current;
  }

  /** True when shared through a fleet store; false for local breakers. */
  get shared(): boolean {
    return this.fleet !== undefined;
  }

  /** True when the call path needs a duration (slow-call detection is on). @internal */
  get timesCalls(): boolean {
    return this.policy.slowCallDurationMs !== undefined;
  }

  /** Outcomes in the local window: calls, failures and slow calls. */
  get metrics(): { readonly calls: number; readonly failures: number; readonly slow: number } {
    this.window.refresh(Date.now());
    return { calls: this.window.calls, failures: this.window.failures, slow: this.window.slow };
  }

  /**
   * Asks to make a call. Returns a permit synchronously, except for a fleet breaker whose open
   * period ended: the probe slot then comes from the store.
   * @internal
   */
  acquire(): number | Promise<number> {
    if (this.current === 'closed') return PERMIT_CALL;
    return this.acquireNotClosed();
  }

  /** The error to throw for a refused call. @internal */
  rejectionError(): CircuitOpenError {
    const state = this.current === 'closed' ? 'half-open' : this.current;
    const retryAfter =
      state === 'open'
        ? Math.max(0, this.openUntil - Date.now())
        : state === 'isolated'
          ? 0
          : 1_000;
    return new CircuitOpenError(this.name, state, retryAfter);
  }

  /** Records a successful call. @internal */
  success(permit: number, durationMs: number): void {
    const slow = this.isSlow(durationMs);
    if (slow) this.counters.slow++;
    this.counters.successes++;
    if (this.successEvent.hasListeners) this.successEvent.emit({ breaker: this.name });
    this.record(permit, slow ? SLOW : 0);
  }

  /** Records a failed call; `ignoreOn` / `recordOn` decide how it counts. @internal */
  failure(permit: number, error: unknown, durationMs: number): void {
    const kind = this.policy.classify(error);
    if (kind === 'ignored') {
      this.counters.ignored++;
      this.releaseProbe(permit);
      return;
    }
    if (kind === 'success') {
      this.success(permit, durationMs);
      return;
    }
    const slow = this.isSlow(durationMs);
    if (slow) this.counters.slow++;
    this.counters.failures++;
    if (this.failureEvent.hasListeners) this.failureEvent.emit({ breaker: this.name, error });
    this.record(permit, FAILED | (slow ? SLOW : 0));
  }

  /** Forces the breaker open (fleet-wide for a fleet breaker) until {@link reset}. */
  async isolate(): Promise<void> {
    if (this.fleet?.available) return this.fleet.isolate(this);
    this.leave('isolated', 'isolated');
  }

  /** Closes the breaker and clears its window (fleet-wide for a fleet breaker). */
  async reset(): Promise<void> {
    if (this.fleet?.available) return this.fleet.reset(this);
    this.close('reset');
  }

  /** Links the breaker to the fleet service. @internal */
  attachFleet(link: BreakerFleetLink): void {
    this.fleet = link;
  }

  /** Outcomes since the last flush, or `undefined` when there were none. @internal */
  takeBatch(): OutcomeBatch | undefined {
    if (this.pendingCalls === 0) return undefined;
    const batch: OutcomeBatch = {
      calls: this.pendingCalls,
      failures: this.pendingFailures,
      slow: this.pendingSlow,
      trailingFailures: this.pendingTrailing,
      hadSuccess: this.pendingHadSuccess,
    };
    this.clearPending();
    return batch;
  }

  /**
   * Adopts the shared state. Stale snapshots (older version of the same epoch) are ignored;
   * `force` adopts unconditionally, when re-joining the fleet.
   * @internal
   */
  applySnapshot(snapshot: BreakerSnapshot, force = false): void {
    if (!force && snapshot.epoch === this.sharedEpoch && snapshot.version < this.sharedVersion)
      return;
    if (!force && this.fleet !== undefined && !this.fleet.available) return;
    this.sharedEpoch = snapshot.epoch;
    this.sharedVersion = snapshot.version;
    this.sharedProbes = snapshot.probes;
    if (snapshot.state === 'open') this.openUntil = Date.now() + snapshot.remainingOpenMs;
    if (snapshot.state === this.current) return;
    if (snapshot.state === 'closed') {
      this.window.reset();
      this.consecutive = 0;
    }
    this.transition(snapshot.state, 'fleet');
  }

  /**
   * The fleet store became unreachable: keep the last shared state and decide locally from now
   * on, with fresh probe counters.
   * @internal
   */
  enterLocalMode(): void {
    this.probesAdmitted = 0;
    this.probeSuccesses = 0;
    this.clearPending();
    if (this.current === 'half-open') this.halfOpenSince = Date.now();
  }

  private acquireNotClosed(): number | Promise<number> {
    const shared = this.fleet !== undefined && this.fleet.available;
    const now = Date.now();
    switch (this.current) {
      case 'isolated':
        return this.reject();
      case 'open':
        if (now < this.openUntil) return this.reject();
        if (shared) return this.acquireSharedProbe();
        this.transition('half-open', 'open-expired');
        return this.admitLocalProbe();
      case 'half-open':
        if (shared) {
          // Every slot is taken: refuse without a round trip, unless the period looks stuck
          // (a replica holding a slot died), which only the store can resolve.
          if (
            this.sharedProbes >= this.policy.halfOpenProbes &&
            now - this.halfOpenSince < this.policy.probeTimeoutMs
          ) {
            return this.reject();
          }
          return this.acquireSharedProbe();
        }
        return this.admitLocalProbe();
      default:
        return PERMIT_CALL;
    }
  }

  private admitLocalProbe(): number {
    if (this.probesAdmitted < this.policy.halfOpenProbes) {
      this.probesAdmitted++;
      return PERMIT_PROBE;
    }
    return this.reject();
  }

  private async acquireSharedProbe(): Promise<number> {
    let grant: ProbeGrant;
    try {
      grant = await this.fleet!.acquireProbe(this);
    } catch {
      // The fleet link marked the store unavailable: decide locally.
      return this.acquireNotClosed();
    }
    this.applySnapshot(grant.snapshot);
    if (grant.permit === 'call') return PERMIT_CALL;
    if (grant.permit === 'probe') {
      this.probeVersion = grant.snapshot.version;
      return PERMIT_SHARED_PROBE;
    }
    return this.reject();
  }

  private reject(): number {
    this.counters.rejected++;
    if (this.rejection.hasListeners)
      this.rejection.emit({ breaker: this.name, state: this.current });
    return PERMIT_REJECTED;
  }

  private isSlow(durationMs: number): boolean {
    const threshold = this.policy.slowCallDurationMs;
    return threshold !== undefined && durationMs >= threshold;
  }

  private record(permit: number, outcome: number): void {
    if (permit === PERMIT_CALL) {
      // A call admitted before a transition says nothing about the new period.
      if (this.current !== 'closed') return;
      const now = this.timeWindow ? Date.now() : 0;
      this.window.add(outcome, now);
      if (outcome & FAILED) this.consecutive++;
      else this.consecutive = 0;
      // Outcomes seen while the store is unreachable stay local: the local breaker has acted on
      // them, and flushing a whole outage's worth on re-join would trip the fleet on stale data.
      if (this.fleet !== undefined && this.fleet.available) {
        this.pendingCalls++;
        if (outcome & FAILED) {
          this.pendingFailures++;
          this.pendingTrailing++;
        } else {
          this.pendingHadSuccess = true;
          this.pendingTrailing = 0;
        }
        if (outcome & SLOW) this.pendingSlow++;
        return;
      }
      if (outcome !== 0) this.evaluate(now === 0 ? Date.now() : now);
      return;
    }
    const failed = outcome !== 0;
    if (permit === PERMIT_SHARED_PROBE && this.fleet?.available) {
      this.fleet.reportProbe(this, this.probeVersion, failed ? 'failure' : 'success');
      return;
    }
    if (permit !== PERMIT_REJECTED && this.current === 'half-open') {
      // A slow probe means the dependency is still unhealthy: it re-opens the breaker too.
      if (failed) this.open('probe-failed');
      else if (++this.probeSuccesses >= this.policy.halfOpenProbes) this.close('probes-succeeded');
    }
  }

  private releaseProbe(permit: number): void {
    if (permit === PERMIT_SHARED_PROBE && this.fleet?.available) {
      this.fleet.reportProbe(this, this.probeVersion, 'ignored');
    } else if (permit === PERMIT_PROBE && this.probesAdmitted > 0) {
      this.probesAdmitted--;
    }
  }

  private evaluate(now: number): void {
    const p = this.policy;
    if (p.consecutiveFailures > 0 && this.consecutive >= p.consecutiveFailures) {
      this.open('consecutive-failures');
      return;
    }
    this.window.refresh(now);
    const { calls, failures, slow } = this.window;
    if (calls === 0 || calls < p.minimumCalls) return;
    if (failures * 100 >= p.failureRateThreshold * calls) this.open('failure-rate');
    else if (slow * 100 >= p.slowCallRateThreshold * calls) this.open('slow-call-rate');
  }

  private open(reason: BreakerTransitionReason): void {
    this.openUntil = Date.now() + this.policy.openDurationMs;
    this.leave('open', reason);
  }

  private leave(to: 'open' | 'isolated', reason: BreakerTransitionReason): void {
    this.window.reset();
    this.consecutive = 0;
    this.probesAdmitted = 0;
    this.probeSuccesses = 0;
    this.transition(to, reason);
  }

  private close(reason: BreakerTransitionReason): void {
    this.window.reset();
    this.consecutive = 0;
    this.probesAdmitted = 0;
    this.probeSuccesses = 0;
    this.transition('closed', reason);
  }

  private transition(to: BreakerState, reason: BreakerTransitionReason): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to === 'half-open') {
      this.halfOpenSince = Date.now();
      this.probesAdmitted = 0;
      this.probeSuccesses = 0;
    }
    this.stateChange.emit({ breaker: this.name, from, to, reason });
  }

  private clearPending(): void {
    this.pendingCalls = this.pendingFailures = this.pendingSlow = this.pendingTrailing = 0;
    this.pendingHadSuccess = false;
  }
}
