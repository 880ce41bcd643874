import { afterEach, describe, expect, it } from '@jest/globals';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

interface Product {
  readonly sku: string;
  readonly version: number;
  readonly by: number;
}

/**
 * Three replicas of one service (separate processes, one Redis) share one @Cached repository:
 * a miss asked for by all of them at once is loaded once; an eviction or a tag eviction in one
 * reaches the in-process tiers of the other two.
 */
describe('@Cached across three processes', () => {
  let fleet: FixtureProcess[] = [];
  let nextId = 1;
  afterEach(async () => {
    await Promise.all(fleet.map((w) => w.kill()));
    fleet = [];
  });

  const start = async () => {
    const prefix = `${uniquePrefix('cache-procs')}:`;
    fleet = [0, 1, 2].map(() =>
      startFixture('libs/coordination/test/fixtures/cache-worker.ts', {
        env: { CACHE_REDIS_URL: redisUrl(), CACHE_PREFIX: prefix },
      }),
    );
    await Promise.all(fleet.map((w) => w.waitForMessage((m) => m.type === 'ready', 30_000)));
  };
  const ask = async (worker: FixtureProcess, command: Record<string, unknown>) => {
    const id = nextId++;
    worker.send({ ...command, id });
    return worker.waitForMessage((m) => m.id === id && m.type === 'result', 30_000);
  };
  const find = (worker: FixtureProcess, sku: string, count = 1) =>
    ask(worker, { cmd: 'find', sku, count }) as Promise<{ results: Product[]; loads: number }>;
  const totalLoads = async () => {
    const stats = await Promise.all(fleet.map((w) => ask(w, { cmd: 'stats' })));
    return stats.reduce((sum, s) => sum + (s.loads as number), 0);
  };

  it('loads a key missed by 3 processes × 100 concurrent callers once', async () => {
    await start();
    const replies = await Promise.all(fleet.map((w) => find(w, 'sku-1', 100)));
    const results = replies.flatMap((r) => r.results);
    expect(results).toHaveLength(300);
    expect(await totalLoads()).toBe(1);
    // Every caller got the one loaded value (the loader's pid is in it).
    expect(new Set(results.map((r) => r.by)).size).toBe(1);
  });

  it('an eviction in A is seen by the in-process tiers of B and C; a tag evicts every replica', async () => {
    await start();
    const [a, b, c] = fleet as [FixtureProcess, FixtureProcess, FixtureProcess];
    const [pidA, pidB] = await Promise.all(
      [a, b].map(async (w) => (await ask(w, { cmd: 'pid' })).pid),
    );
    const loader = async (worker: FixtureProcess) => (await find(worker, 'sku-2')).results[0]!.by;
    // A loads it; B and C read A's value from Redis and keep it in process.
    expect(await loader(a)).toBe(pidA);
    expect(await loader(b)).toBe(pidA);
    expect(await loader(c)).toBe(pidA);
    await ask(a, { cmd: 'update', sku: 'sku-2', version: 7 });
    // B drops its copy and loads the key itself; C drops its copy and reads B's from Redis. A
    // replica that kept its copy would answer A's value forever.
    await waitFor(async () => (await loader(b)) === pidB, {
      timeoutMs: 5_000,
      message: 'B loads the evicted key again',
    });
    await waitFor(async () => (await loader(c)) === pidB, {
      timeoutMs: 5_000,
      message: "C serves B's value, not its old copy",
    });
    expect(await totalLoads()).toBe(2);
    // A tag eviction from C: A loads it again, and B drops its copy for A's.
    expect(await loader(a)).toBe(pidB);
    await ask(c, { cmd: 'reindex' });
    await waitFor(async () => (await loader(a)) === pidA, {
      timeoutMs: 5_000,
      message: 'A loads the tagged key again',
    });
    await waitFor(async () => (await loader(b)) === pidA, {
      timeoutMs: 5_000,
      message: "B serves A's new value",
    });
    expect(await totalLoads()).toBe(3);
  });
});
