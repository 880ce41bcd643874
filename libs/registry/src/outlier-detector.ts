import type { OutlierOptions } from './interfaces/registry-options.interface.js';

interface State {
  failures: number[];
  ejectedUntil: number;
  ejections: number;
}

/**
 * Passive outlier ejection, local to one consumer: an instance whose calls through Keel's
 * clients fail `failures` times within `windowMs` is left out of this process's `choose()` for
 * a back-off period that doubles with each repeated ejection. Nothing is written to the
 * registry: one consumer's bad luck never marks an instance critical for the whole fleet.
 * @internal
 */
export class OutlierDetector {
  private readonly states = new Map<string, State>();

  constructor(
    private readonly options: Required<OutlierOptions>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records a call result; returns true when this failure ejected the instance. */
  record(id: string, ok: boolean): boolean {
    const now = this.clock();
    let state = this.states.get(id);
    if (ok) {
      if (state !== undefined && state.ejectedUntil <= now) {
        state.failures.length = 0;
        // A success after the back-off ends the streak of ejections.
        if (state.ejectedUntil !== 0) state.ejections = 0;
        state.ejectedUntil = 0;
      }
      return false;
    }
    if (state === undefined) {
      state = { failures: [], ejectedUntil: 0, ejections: 0 };
      this.states.set(id, state);
    }
    if (state.ejectedUntil > now) return false;
    const since = now - this.options.windowMs;
    state.failures = state.failures.filter((t) => t > since);
    state.failures.push(now);
    if (state.failures.length < this.options.failures) return false;
    state.failures.length = 0;
    const period = Math.min(this.options.ejectMs * 2 ** state.ejections, this.options.maxEjectMs);
    state.ejections += 1;
    state.ejectedUntil = now + period;
    return true;
  }

  /** True while `id` is ejected. */
  isEjected(id: string, now = this.clock()): boolean {
    const state = this.states.get(id);
    return state !== undefined && state.ejectedUntil > now;
  }

  /** Earliest end of a current ejection, for rescheduling the pool rebuild. */
  nextExpiry(now = this.clock()): number | undefined {
    let next: number | undefined;
    for (const state of this.states.values()) {
      if (state.ejectedUntil > now && (next === undefined || state.ejectedUntil < next))
        next = state.ejectedUntil;
    }
    return next;
  }

  /** Forgets instances that left the registry. */
  forget(id: string): void {
    this.states.delete(id);
  }
}
