import { Inject } from '@nestjs/common';
/** A breaker's state. `isolated` is forced open by an operator until reset. @publicApi */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** A breaker's shared state as a store reports it. @publicApi */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** While open: time left before probes are admitted (relative, so replicas' clocks may differ). */
  readonly remainingOpenMs: number;
  /** Probe slots handed out in the current half-open period. */
  readonly probes: number;
  /** Increases with every transition; with `epoch`, orders snapshots. */
  readonly version: number;
  /** Changes when the store lost the breaker's data (e.g. Redis restarted empty). */
  readonly epoch: string;
}

/** Call outcomes one replica aggregated since its last flush. @publicApi */
export interface OutcomeBatch {
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  /** Failures after the batch's last success (all of them when `hadSuccess` is false). */
  readonly trailingFailures: number;
  readonly hadSuccess: boolean;
}

/** The part of a breaker's policy a store needs to decide transitions. @publicApi */
export interface SharedBreakerPolicy {
  readonly slidingWindow: 'count' | 'time';
  readonly windowSize: number;
  readonly minimumCalls: number;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  /** 0 = off. */
  readonly consecutiveFailures: number;
  readonly openDurationMs: number;
  readonly halfOpenProbes: number;
  /** A half-open period whose probes never all report is ended (re-opened) after this. */
  readonly probeTimeoutMs: number;
}

/** Answer to a probe request. @publicApi */
export interface ProbeGrant {
  /** `call`: the breaker is closed, run normally; `probe`: run as a probe and report; `rejected`. */
  readonly permit: 'call' | 'probe' | 'rejected';
  readonly snapshot: BreakerSnapshot;
}

/** A state change pushed to every replica. @publicApi */
export interface BreakerStateMessage {
  readonly name: string;
  readonly snapshot: BreakerSnapshot;
}

/**
 * Where fleet-wide breakers keep their shared window and state. Every operation decides
 * transitions atomically inside the store (a Lua script on Redis), so replicas never race.
 * Same interface as a DI token (the throttler pattern).
 * @publicApi
 */
export interface BreakerStore {
  readonly kind: 'memory' | 'redis';
  /** Adds a batch of outcomes to the shared window; opens the breaker when thresholds are met. */
  record(name: string, policy: SharedBreakerPolicy, batch: OutcomeBatch): Promise<BreakerSnapshot>;
  /** Asks for a probe slot; moves an expired open breaker to half-open. */
  acquireProbe(name: string, policy: SharedBreakerPolicy): Promise<ProbeGrant>;
  /**
   * Reports a probe's outcome; closes after `halfOpenProbes` successes, re-opens on a failure.
   * Four positional parameters, against the skeleton's rule, because this interface is public
   * (applications may implement a store): a parameter object would break every such store.
   */
  reportProbe(
    name: string,
    policy: SharedBreakerPolicy,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): Promise<BreakerSnapshot>;
  /** Current shared state. */
  read(name: string): Promise<BreakerSnapshot>;
  /** Forces the breaker open until {@link reset}. */
  isolate(name: string): Promise<BreakerSnapshot>;
  /** Closes the breaker and clears its window. */
  reset(name: string): Promise<BreakerSnapshot>;
  /** Receives every state change, from any replica. */
  subscribe(listener: (message: BreakerStateMessage) => void): Promise<void>;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** DI token of the {@link BreakerStore} in use. @publicApi */
export const BreakerStore = Symbol('BreakerStore');

/**
 * Injects the {@link BreakerStore} in use (the one `CoordinationModule` exports).
 *
 * @example
 * ```ts
 * constructor(@InjectBreakerStore() private readonly store: BreakerStore) {}
 * ```
 * @publicApi
 */
export const InjectBreakerStore = (): PropertyDecorator & ParameterDecorator =>
  Inject(BreakerStore);

/** A closed snapshot for a breaker the store has never seen. @internal */
export function closedSnapshot(epoch: string): BreakerSnapshot {
  return { state: 'closed', remainingOpenMs: 0, probes: 0, version: 0, epoch };
}
