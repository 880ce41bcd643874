import { afterEach, describe, expect, it } from '@jest/globals';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';

type Outcome = { ok: true; at: number; insurance: boolean } | { ok: false; code: string };

/** Most of `times` (ms, sorted) inside any half-open window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/**
 * Three replicas of one service (separate processes) share one fleet-wide @RateLimit in Redis.
 * Decision times come from the Redis server's clock (`currentRateLimit().at`), so the sliding
 * windows are measured on the clock the limit is kept by, not on three skewed process clocks.
 */
describe('fleet-wide @RateLimit across three processes', () => {
  let fleet: FixtureProcess[] = [];
  let nextId = 1;
  afterEach(async () => {
    await Promise.all(fleet.map((w) => w.kill()));
    fleet = [];
  });

  const start = async (env: Record<string, string>) => {
    const prefix = `${uniquePrefix('rate-fleet')}:`;
    fleet = [0, 1, 2].map(() =>
      startFixture('libs/coordination/test/fixtures/rate-limit-worker.ts', {
        env: { RL_REDIS_URL: redisUrl(), RL_PREFIX: prefix, ...env },
      }),
    );
    await Promise.all(fleet.map((w) => w.waitForMessage((m) => m.type === 'ready')));
  };
  const run = async (count: number, gapMs: number): Promise<Outcome[]> => {
    const replies = await Promise.all(
      fleet.map((worker) => {
        const id = nextId++;
        worker.send({ cmd: 'go', id, count, gapMs });
        return worker.waitForMessage((m) => m.id === id && m.type === 'result', 60_000);
      }),
    );
    return replies.flatMap((reply) => reply.outcomes as Outcome[]);
  };

  it('reject mode: 3 × 200 calls against 50/s never let more than limit + burst through in any sliding second', async () => {
    const limit = 50;
    const burst = 5;
    await start({ RL_LIMIT: String(limit), RL_BURST: String(burst), RL_MODE: 'reject' });
    // 600 attempts over about a second and a half: far more than the limit allows.
    const outcomes = await run(200, 7);
    const allowed = outcomes.filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(allowed.length + refused.length).toBe(600);
    expect(refused.every((o) => !o.ok && o.code === 'KEEL_RATE_LIMITED')).toBe(true);
    expect(allowed.every((o) => !o.insurance && Number.isFinite(o.at))).toBe(true);
    const times = allowed.map((o) => o.at).sort((a, b) => a - b);
    expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(limit + burst);
    // The limit is shared, not per process: three local limits would allow about 3×.
    const span = (times.at(-1)! - times[0]!) / 1000;
    expect(allowed.length).toBeLessThanOrEqual(Math.ceil(limit * span) + burst + 1);
    expect(allowed.length).toBeGreaterThanOrEqual(limit * 0.5);
  });

  it("wait mode: every call completes without a rejection, spaced at the limit's rate", async () => {
    const limit = 50;
    await start({ RL_LIMIT: String(limit), RL_BURST: '0', RL_MODE: 'wait' });
    const outcomes = await run(20, 0);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    const times = outcomes.map((o) => (o.ok ? o.at : Number.NaN)).sort((a, b) => a - b);
    expect(times).toHaveLength(60);
    // Turns are one emission interval (1000 / 50 = 20 ms) apart on the Redis clock.
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20 - 0.01);
    expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(limit);
  });
});
