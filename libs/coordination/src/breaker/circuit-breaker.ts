import { CircuitOpenError } from '../coordination.errors.js';
import { EventSource, type KeelEvent } from '../events.js';
import { BreakerFleetMember, type BreakerFleetLink } from './breaker-fleet-member.js';
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

/** Counters read by the metrics collector; plain numbers so the call path stays allocation-free. @internal */
export interface BreakerCounters {
  successes: number;
  failures: number;
  slow: number;
  ignored: number;
  rejected: number;
}

/**
 * The state machine's state, one union (as cockatiel's `CircuitBreakerPolicy` keeps it): what a
 * state needs lives in that state, so no field is left over from an earlier one.
 */
type InnerState =
  | { readonly state: 'closed' }
  | { readonly state: 'open'; readonly openedAt: number; readonly openUntil: number }
  | {
      readonly state: 'half-open';
      readonly since: number;
      /** Probes admitted by this process (local decisions only). */
      admitted: number;
      /** Probes that succeeded in this period (local decisions only). */
      successes: number;
    }
  | { readonly state: 'isolated' };

// Shared instances: closing or isolating allocates nothing.
const CLOSED: InnerState = Object.freeze({ state: 'closed' });
const ISOLATED: InnerState = Object.freeze({ state: 'isolated' });

function openState(now: number, openForMs: number): InnerState {
  return { state: 'open', openedAt: now, openUntil: now + openForMs };
}

function halfOpenState(now: number): InnerState {
  return { state: 'half-open', since: now, admitted: 0, successes: 0 };
}

/**
 * A circuit breaker: a state machine over a sliding window of call outcomes. Local breakers
 * decide everything in process. A fleet breaker (`store: 'redis'`) keeps the same local window
 * (for when Redis is unreachable) and aggregates outcomes for the fleet service to flush (its
 * {@link BreakerFleetMember}); while the fleet is reachable its state comes from the store, so
 * the call path never waits on Redis while closed or open.
 * @publicApi
 */
export class CircuitBreaker {
  private inner: InnerState = CLOSED;
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
  /** Fleet bookkeeping; `undefined` for a local breaker. */
  private fleet: BreakerFleetMember | undefined;

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
    return this.inner.state;
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
    if (this.inner.state === 'closed') return PERMIT_CALL;
    return this.acquireNotClosed();
  }

  /** The error to throw for a refused call. @internal */
  rejectionError(): CircuitOpenError {
    const inner = this.inner;
    switch (inner.state) {
      case 'open':
        return new CircuitOpenError(this.name, 'open', Math.max(0, inner.openUntil - Date.now()));
      case 'isolated':
        return new CircuitOpenError(this.name, 'isolated', 0);
      default:
        // Half-open with every probe slot taken (or closed again since the refusal).
        return new CircuitOpenError(this.name, 'half-open', 1_000);
    }
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
    if (this.fleet?.link.available) return this.fleet.link.isolate(this);
    this.enter(ISOLATED, 'isolated');
  }

  /** Closes the breaker and clears its window (fleet-wide for a fleet breaker). */
  async reset(): Promise<void> {
    if (this.fleet?.link.available) return this.fleet.link.reset(this);
    this.enter(CLOSED, 'reset');
  }

  /** Links the breaker to the fleet service. @internal */
  attachFleet(link: BreakerFleetLink): void {
    this.fleet = new BreakerFleetMember(link);
  }

  /** Outcomes since the last flush, or `undefined` when there were none. @internal */
  takeBatch(): OutcomeBatch | undefined {
    return this.fleet?.takeBatch();
  }

  /**
   * Adopts the shared state. Stale snapshots (older version of the same epoch) are ignored;
   * `force` adopts unconditionally, when re-joining the fleet.
   * @internal
   */
  applySnapshot(snapshot: BreakerSnapshot, force = false): void {
    const fleet = this.fleet;
    if (!force && fleet !== undefined && (fleet.isStale(snapshot) || !fleet.link.available)) {
      return;
    }
    fleet?.adopt(snapshot);
    const now = Date.now();
    if (snapshot.state === 'open') {
      // Already open here too: only the time left changes (the store's clock decides it).
      const openedAt = this.inner.state === 'open' ? this.inner.openedAt : now;
      const open: InnerState = {
        state: 'open',
        openedAt,
        openUntil: now + snapshot.remainingOpenMs,
      };
      if (this.inner.state === 'open') {
        this.inner = open;
        return;
      }
      this.transition(open, 'fleet');
      return;
    }
    if (snapshot.state === this.inner.state) return;
    if (snapshot.state === 'closed') {
      this.window.reset();
      this.consecutive = 0;
    }
    this.transition(this.stateFor(snapshot.state, now), 'fleet');
  }

  /**
   * The fleet store became unreachable: keep the last shared state and decide locally from now
   * on, with fresh probe counters.
   * @internal
   */
  enterLocalMode(): void {
    this.fleet?.clear();
    if (this.inner.state === 'half-open') this.inner = halfOpenState(Date.now());
  }

  private stateFor(state: Exclude<BreakerState, 'open'>, now: number): InnerState {
    if (state === 'closed') return CLOSED;
    if (state === 'isolated') return ISOLATED;
    return halfOpenState(now);
  }

  private acquireNotClosed(): number | Promise<number> {
    const fleet = this.fleet;
    const shared = fleet !== undefined && fleet.link.available;
    const inner = this.inner;
    const now = Date.now();
    switch (inner.state) {
      case 'isolated':
        return this.reject();
      case 'open':
        if (now < inner.openUntil) return this.reject();
        if (shared) return this.acquireSharedProbe();
        this.transition(halfOpenState(now), 'open-expired');
        return this.admitLocalProbe();
      case 'half-open':
        if (shared) {
          // Every slot is taken: refuse without a round trip, unless the period looks stuck
          // (a replica holding a slot died), which only the store can resolve.
          if (
            fleet.sharedProbes >= this.policy.halfOpenProbes &&
            now - inner.since < this.policy.probeTimeoutMs
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
    const inner = this.inner;
    if (inner.state === 'half-open' && inner.admitted < this.policy.halfOpenProbes) {
      inner.admitted++;
      return PERMIT_PROBE;
    }
    return this.reject();
  }

  private async acquireSharedProbe(): Promise<number> {
    const fleet = this.fleet!;
    let grant: ProbeGrant;
    try {
      grant = await fleet.link.acquireProbe(this);
    } catch {
      // The fleet link marked the store unavailable: decide locally.
      return this.acquireNotClosed();
    }
    this.applySnapshot(grant.snapshot);
    if (grant.permit === 'call') return PERMIT_CALL;
    if (grant.permit === 'probe') {
      fleet.probeVersion = grant.snapshot.version;
      return PERMIT_SHARED_PROBE;
    }
    return this.reject();
  }

  private reject(): number {
    this.counters.rejected++;
    if (this.rejection.hasListeners)
      this.rejection.emit({ breaker: this.name, state: this.inner.state });
    return PERMIT_REJECTED;
  }

  private isSlow(durationMs: number): boolean {
    const threshold = this.policy.slowCallDurationMs;
    return threshold !== undefined && durationMs >= threshold;
  }

  private record(permit: number, outcome: number): void {
    if (permit === PERMIT_CALL) {
      // A call admitted before a transition says nothing about the new period.
      if (this.inner.state !== 'closed') return;
      const now = this.timeWindow ? Date.now() : 0;
      this.window.add(outcome, now);
      if (outcome & FAILED) this.consecutive++;
      else this.consecutive = 0;
      // Outcomes seen while the store is unreachable stay local: the local breaker has acted on
      // them, and flushing a whole outage's worth on re-join would trip the fleet on stale data.
      const fleet = this.fleet;
      if (fleet !== undefined && fleet.link.available) {
        fleet.add(outcome);
        return;
      }
      if (outcome !== 0) this.evaluate(now === 0 ? Date.now() : now);
      return;
    }
    this.recordProbe(permit, outcome !== 0);
  }

  private recordProbe(permit: number, failed: boolean): void {
    const fleet = this.fleet;
    if (permit === PERMIT_SHARED_PROBE && fleet?.link.available) {
      fleet.link.reportProbe(this, fleet.probeVersion, failed ? 'failure' : 'success');
      return;
    }
    const inner = this.inner;
    if (permit !== PERMIT_REJECTED && inner.state === 'half-open') {
      // A slow probe means the dependency is still unhealthy: it re-opens the breaker too.
      if (failed) this.open('probe-failed');
      else if (++inner.successes >= this.policy.halfOpenProbes)
        this.enter(CLOSED, 'probes-succeeded');
    }
  }

  private releaseProbe(permit: number): void {
    const fleet = this.fleet;
    const inner = this.inner;
    if (permit === PERMIT_SHARED_PROBE && fleet?.link.available) {
      fleet.link.reportProbe(this, fleet.probeVersion, 'ignored');
    } else if (permit === PERMIT_PROBE && inner.state === 'half-open' && inner.admitted > 0) {
      inner.admitted--;
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
    this.enter(openState(Date.now(), this.policy.openDurationMs), reason);
  }

  /** A local decision to open, isolate or close: the window starts over. */
  private enter(next: InnerState, reason: BreakerTransitionReason): void {
    this.window.reset();
    this.consecutive = 0;
    this.transition(next, reason);
  }

  private transition(next: InnerState, reason: BreakerTransitionReason): void {
    const from = this.inner.state;
    if (from === next.state) {
      // Opening again while open starts a new open period; no other state restarts itself.
      if (next.state === 'open') this.inner = next;
      return;
    }
    this.inner = next;
    this.stateChange.emit({ breaker: this.name, from, to: next.state, reason });
  }
}
