import type { DeadlockDetector } from './deadlock-detector.js';
import type { HoldRegistry } from './hold-registry.js';
import type { LockScope } from './lock-context.js';
import type { AcquireOutcome, LockInstruments } from './lock-instruments.js';
import type { HoldTarget, Lock } from './lock.js';
import { DeadlockError, LockTimeoutError } from './locks.errors.js';
import type { LockStore, WaiterEvent } from './stores/lock.store.js';

/** Longest sleep of a waiter between checks: keeps its queue entry alive and covers a lost message. */
const RECHECK_MS = 1_000;
/** Interval of the wait-for graph check of a waiter that holds other locks. */
const DEADLOCK_CHECK_MS = 200;

/** One acquisition that has to wait (the lock was held, or fair queueing was asked for). @internal */
export interface WaitRequest {
  readonly target: HoldTarget;
  /** This acquisition's token (`<chain>.<sequence>`). */
  readonly token: string;
  readonly ttlMs: number;
  /** Longest wait, from `start`. */
  readonly waitMs: number;
  /** Queue in arrival order and take a push hand-off. */
  readonly fair: boolean;
  /** `performance.now()` when the acquisition began (the first attempt included). */
  readonly start: number;
  readonly autoRenew: boolean;
  /** The call chain, for the hold's scope and deadlock detection. */
  readonly scope: LockScope | undefined;
  readonly abortSignal: AbortSignal | undefined;
}

/** What the wait loop shares with the code that closes a wait. */
interface WaitState {
  outcome: AcquireOutcome;
  /** The chain's wait-for record was written and must be cleared. */
  waitsRecorded: boolean;
}

type Grant = WaiterEvent & { readonly type: 'grant'; readonly at: number };

/**
 * A waiter's mailbox: the store's events for its token (a grant, or a wake-up) and the abort
 * signal, and the sleep they cut short. Listening starts before the first attempt: a grant can
 * be published before the attempt's reply.
 */
class WaiterInbox {
  granted: Grant | undefined;
  /** An event arrived since the loop last looked. */
  notified = false;
  private wakeUp: (() => void) | undefined;
  private readonly unlisten: () => void;
  private readonly onAbort = () => this.wakeUp?.();

  constructor(
    store: LockStore,
    token: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.unlisten = store.listen(token, (event) => {
      if (event.type === 'grant') this.granted = { ...event, at: performance.now() };
      this.notified = true;
      this.wakeUp?.();
    });
    signal?.addEventListener('abort', this.onAbort);
  }

  /** Sleeps `ms` (at least 1), or until an event or the abort signal wakes the waiter. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.wakeUp = done;
    });
  }

  close(): void {
    this.unlisten();
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** What a {@link LockWaiter} works with, all owned by its `LockService`. @internal */
export interface LockWaiterDependencies {
  readonly store: LockStore;
  readonly holds: HoldRegistry;
  readonly deadlocks: DeadlockDetector;
  readonly instruments: LockInstruments;
}

/**
 * The wait loop of an acquisition that did not get its lock at once: queued in the store, woken
 * (or handed the lock) by a push, re-checking at least every second; ends with the lock, a
 * `LockTimeoutError`, a `DeadlockError` or the abort signal's reason, and leaves the queue on
 * every path but success.
 * @internal
 */
export class LockWaiter {
  constructor(private readonly deps: LockWaiterDependencies) {}

  async wait(request: WaitRequest): Promise<Lock> {
    const inbox = new WaiterInbox(this.deps.store, request.token, request.abortSignal);
    const state: WaitState = { outcome: 'error', waitsRecorded: false };
    try {
      return await this.loop(request, inbox, state);
    } catch (error) {
      if (state.outcome === 'error') await request.target.cancel(request.token).catch(() => {});
      throw error;
    } finally {
      inbox.close();
      this.deps.instruments.observeAcquire(state.outcome, request.start);
      if (state.waitsRecorded) await this.deps.deadlocks.clearWait(request.scope!.chain);
    }
  }

  private async loop(request: WaitRequest, inbox: WaiterInbox, state: WaitState): Promise<Lock> {
    const { target, token, ttlMs, fair } = request;
    const deadline = request.start + request.waitMs;
    let contended = false;
    let retryAfterMs = 0;
    for (let attempt = 0; ; attempt++) {
      const sent = performance.now();
      inbox.notified = false;
      if (inbox.granted === undefined) {
        const mode = { fair, enqueue: true, queued: attempt > 0 };
        const result = await target.tryAcquire(token, ttlMs, mode);
        if (result.acquired) {
          state.outcome = 'acquired';
          return this.hold(request, result.fence, result.validityMs, sent);
        }
        retryAfterMs = result.retryAfterMs;
      }
      const granted = inbox.granted as Grant | undefined;
      if (granted !== undefined) {
        state.outcome = 'acquired';
        return this.hold(request, granted.fence, granted.ttlMs, granted.at);
      }
      if (!contended) {
        contended = true;
        this.deps.instruments.contended.inc();
      }
      const now = performance.now();
      if (request.abortSignal?.aborted || now >= deadline) await this.giveUp(request, state, now);
      const detect = this.deps.deadlocks.applies(target.exclusive, request.scope);
      if (detect) await this.checkDeadlock(request, state, deadline - now);
      if (inbox.notified || inbox.granted !== undefined) continue;
      let sleep = Math.min(deadline - now, RECHECK_MS);
      if (retryAfterMs > 0) sleep = Math.min(sleep, retryAfterMs + 1);
      if (detect) sleep = Math.min(sleep, DEADLOCK_CHECK_MS);
      await inbox.sleep(sleep);
    }
  }

  private hold(request: WaitRequest, fencingToken: number, validityMs: number, validFrom: number) {
    const { target, token, ttlMs, autoRenew, scope } = request;
    return this.deps.holds.hold({
      target,
      token,
      fencingToken,
      ttlMs,
      validityMs,
      validFrom,
      autoRenew,
      scope,
    });
  }

  /** Leaves the queue and throws the abort reason or a `LockTimeoutError`. */
  private async giveUp(request: WaitRequest, state: WaitState, now: number): Promise<never> {
    await request.target.cancel(request.token);
    if (request.abortSignal?.aborted) {
      state.outcome = 'aborted';
      throw request.abortSignal.reason;
    }
    state.outcome = 'timeout';
    this.deps.instruments.timeouts.inc();
    throw new LockTimeoutError(request.target.key, now - request.start);
  }

  /**
   * Records what this chain waits for (outliving the wait by two re-checks) and throws a
   * `DeadlockError`, after leaving the queue, when this chain is the cycle's member to fail.
   */
  private async checkDeadlock(request: WaitRequest, state: WaitState, leftMs: number) {
    const scope = request.scope!;
    const key = request.target.key;
    await this.deps.deadlocks.recordWait(scope.chain, key, leftMs + 2 * RECHECK_MS);
    state.waitsRecorded = true;
    const cycle = await this.deps.deadlocks.findCycle(scope, key);
    if (cycle === undefined) return;
    await request.target.cancel(request.token);
    state.outcome = 'deadlock';
    this.deps.instruments.deadlocks.inc();
    throw new DeadlockError(key, cycle);
  }
}
