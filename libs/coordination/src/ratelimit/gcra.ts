/**
 * The Generic Cell Rate Algorithm, the one algorithm behind `@RateLimit` (in process and, as a
 * Lua script, in Redis). A bucket is a single number, its *theoretical arrival time* (TAT): the
 * moment the bucket would be empty again if no more calls came. A call is allowed when
 * `TAT - tolerance <= now`, and moves the TAT one emission interval (`perMs / limit`) on.
 *
 * Why GCRA rather than a fixed window or a token bucket: one number per key (no refill timer, no
 * log of timestamps), one comparison per decision, and a hard bound that a window counter lacks —
 * in **any** sliding window of `perMs`, at most `limit + burst` calls are allowed (a fixed window
 * lets `2 × limit` through around its edge). `burst` calls more than the steady rate may run at
 * once; with `burst: 0` calls are spaced `perMs / limit` apart.
 *
 * Times are microseconds, so the Redis script (server clock, `TIME`) and this code agree.
 * @internal
 */

/** A limit as GCRA sees it. @internal */
export interface GcraParams {
  /** Emission interval: microseconds between calls at the steady rate (`perMs × 1000 / limit`). */
  readonly intervalUs: number;
  /** How far ahead of `now` the TAT may be and still allow a call (`burst × intervalUs`). */
  readonly toleranceUs: number;
}

/** The outcome of one decision. @internal */
export interface GcraDecision {
  /** The call may run (now, or after `delayUs` when it reserved a later turn). */
  readonly allowed: boolean;
  /**
   * Allowed: how long the call must wait for its turn (0 in `reject` mode). Refused: how long
   * until a call would be allowed (the `Retry-After`).
   */
  readonly delayUs: number;
  /** Calls that could still run at once after this decision. */
  readonly remaining: number;
  /** Until the bucket is empty again (every call's budget back), from `nowUs`. */
  readonly resetUs: number;
  /** The decision's clock: this process's for a local limit, the Redis server's for a fleet one. */
  readonly nowUs: number;
}

/** Builds the GCRA parameters of `limit` calls per `perMs`, plus `burst` at once. @internal */
export function gcraParams(limit: number, perMs: number, burst: number): GcraParams {
  // Whole microseconds: the Redis script stores the TAT as an integer; the rounding error is
  // below 1 µs per call.
  const intervalUs = Math.max(1, Math.round((perMs * 1000) / limit));
  return { intervalUs, toleranceUs: burst * intervalUs };
}

/**
 * One decision on a bucket whose TAT is `tat` (0 for an unknown bucket). Returns the decision and
 * the bucket's new TAT (unchanged when refused). `maxWaitUs` 0 is `reject` mode: a call is
 * allowed only when it may run now.
 * @internal
 */
export function gcraDecide(
  params: GcraParams,
  tat: number,
  nowUs: number,
  maxWaitUs: number,
): { decision: GcraDecision; tat: number } {
  const base = tat > nowUs ? tat : nowUs;
  const earliest = base - params.toleranceUs - nowUs;
  const delayUs = earliest > 0 ? earliest : 0;
  if (delayUs > maxWaitUs) {
    return {
      decision: { allowed: false, delayUs, remaining: 0, resetUs: base - nowUs, nowUs },
      tat,
    };
  }
  const next = base + params.intervalUs;
  const remaining = Math.floor((nowUs + params.toleranceUs - next) / params.intervalUs) + 1;
  return {
    decision: {
      allowed: true,
      delayUs,
      remaining: remaining > 0 ? remaining : 0,
      resetUs: next - nowUs,
      nowUs,
    },
    tat: next,
  };
}

// Read once: `performance.timeOrigin` is a getter that costs as much as the clock read itself.
const TIME_ORIGIN = performance.timeOrigin;

/** Microseconds since the epoch on this process's clock, finer than `Date.now()`. @internal */
export function nowMicros(): number {
  return Math.round((TIME_ORIGIN + performance.now()) * 1000);
}

/**
 * The buckets of one limit in this process: a map from bucket key to TAT. A bucket whose TAT has
 * passed holds no information (it is the same as an unknown one), so a sweep every few thousand
 * decisions drops them and per-client limits do not grow without bound.
 * @internal
 */
export class GcraBuckets {
  private readonly tats = new Map<string, number>();
  private sinceSweep = 0;

  constructor(readonly params: GcraParams) {}

  /** Buckets currently held. */
  get size(): number {
    return this.tats.size;
  }

  decide(key: string, nowUs: number, maxWaitUs: number): GcraDecision {
    const { decision, tat } = gcraDecide(this.params, this.tats.get(key) ?? 0, nowUs, maxWaitUs);
    if (decision.allowed) this.tats.set(key, tat);
    if (++this.sinceSweep >= 4096) this.sweep(nowUs);
    return decision;
  }

  clear(): void {
    this.tats.clear();
  }

  private sweep(nowUs: number): void {
    this.sinceSweep = 0;
    for (const [key, tat] of this.tats) if (tat <= nowUs) this.tats.delete(key);
  }
}
