import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

/**
 * Three replicas of one service (separate processes) sharing a private Redis: the fleet
 * scenario, step by step. The steps build on each other, so they run in order in one suite.
 */
describe('fleet-wide circuit breaker across three processes', () => {
  let redis: RedisServerHandle;
  let fleet: FixtureProcess[] = [];
  let nextId = 1;
  const OPEN_MS = 1_500;

  const request = async (worker: FixtureProcess, message: Record<string, unknown>) => {
    const id = nextId++;
    worker.send({ ...message, id });
    return worker.waitForMessage(
      (m) => (m.id === id && m.type !== 'ack' ? true : m.id === id),
      20_000,
    );
  };
  const call = (worker: FixtureProcess, count: number, delayMs = 0) =>
    request(worker, { cmd: 'call', count, delayMs }) as Promise<{
      outcomes: string[];
      executions: number;
      at: number;
    }>;
  const health = (worker: FixtureProcess) =>
    request(worker, { cmd: 'health' }) as Promise<{
      report: { status: string; details: { fleet?: { available: boolean } } };
      state: string;
    }>;
  const stateChanges = (worker: FixtureProcess, to: string, after: number) =>
    worker.messages.filter(
      (m) => m.type === 'state-change' && m.to === to && (m.at as number) >= after,
    );

  beforeAll(async () => {
    redis = await startRedisServer();
    const prefix = `${uniquePrefix('fleet')}:`;
    fleet = [0, 1, 2].map(() =>
      startFixture('libs/coordination/test/fixtures/fleet-worker.ts', {
        env: { FLEET_REDIS_URL: redis.url, FLEET_PREFIX: prefix, FLEET_OPEN_MS: String(OPEN_MS) },
      }),
    );
    await Promise.all(fleet.map((w) => w.waitForMessage((m) => m.type === 'ready')));
    // Each replica joins the fleet after its first successful sync with the store.
    for (const worker of fleet) {
      await waitFor(async () => (await health(worker)).report.details.fleet?.available === true, {
        message: `replica ${worker.pid} joined the fleet`,
      });
    }
  });

  afterAll(async () => {
    await Promise.all(fleet.map((w) => w.kill()));
    await redis?.stop();
  });

  it('trips through one replica → the other two reject (goal 100 ms, asserted < 1 s)', async () => {
    const [a, b, c] = fleet;
    const before = Date.now();
    await request(a, { cmd: 'failing', failing: true });
    const tripped = await call(a, 6);
    expect(tripped.outcomes.every((o) => o === 'error:gateway down')).toBe(true);
    const [openA, openB, openC] = await Promise.all(
      [a, b, c].map((w) =>
        w.waitForMessage(
          (m) => m.type === 'state-change' && m.to === 'open' && (m.at as number) >= before,
          5_000,
        ),
      ),
    );
    // The replica that tripped it learns from its flush reply, the others from pub/sub.
    const lagB = (openB.at as number) - (openA.at as number);
    const lagC = (openC.at as number) - (openA.at as number);
    console.log(`fleet: open propagated to the other replicas in ${lagB} ms and ${lagC} ms`);
    // The goal is 100 ms (measured 0–3 ms here); the assertion allows 10× so a loaded CI machine
    // cannot flake it. The real figure is logged above and reported by the benchmark.
    expect(lagB).toBeLessThan(1_000);
    expect(lagC).toBeLessThan(1_000);
    for (const worker of [b, c]) {
      const result = await call(worker, 3);
      expect(result.outcomes).toEqual([
        'error:KEEL_CIRCUIT_OPEN',
        'error:KEEL_CIRCUIT_OPEN',
        'error:KEEL_CIRCUIT_OPEN',
      ]);
      expect(result.executions).toBe(0);
    }
  });

  it('half-open admits exactly the configured number of probes fleet-wide', async () => {
    const [a] = fleet;
    await request(a, { cmd: 'failing', failing: false });
    const openedAt = Math.max(
      ...fleet.map((w) => Math.max(...stateChanges(w, 'open', 0).map((m) => m.at as number))),
    );
    await waitFor(() => Date.now() > openedAt + OPEN_MS + 50, {
      timeoutMs: OPEN_MS * 4,
      message: 'open period over',
    });
    const after = Date.now();
    // Five concurrent calls on each replica; each probe takes 1.5 s (far longer than it takes to
    // deliver the three commands), so all fifteen calls arrive while the breaker is half-open.
    const results = await Promise.all(fleet.map((w) => call(w, 5, 1_500)));
    const executions = results.reduce((n, r) => n + r.executions, 0);
    const outcomes = results.flatMap((r) => r.outcomes);
    expect(executions).toBe(2);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'error:KEEL_CIRCUIT_OPEN')).toHaveLength(13);
    // Both probes succeeded: every replica closes.
    for (const worker of fleet) {
      await worker.waitForMessage(
        (m) => m.type === 'state-change' && m.to === 'closed' && (m.at as number) >= after,
        5_000,
      );
    }
  });

  it('Redis stopped mid-run → all three keep serving on local breakers and report degraded', async () => {
    await redis.stop();
    for (const worker of fleet) {
      const result = await call(worker, 3);
      expect(result.outcomes).toEqual(['ok', 'ok', 'ok']);
    }
    for (const worker of fleet) {
      await waitFor(async () => (await health(worker)).report.status === 'degraded', {
        timeoutMs: 10_000,
        message: `replica ${worker.pid} reports degraded`,
      });
      const result = await call(worker, 2);
      expect(result.outcomes).toEqual(['ok', 'ok']);
    }
    // The local breaker still protects each replica on its own.
    const [a, b] = fleet;
    await request(a, { cmd: 'failing', failing: true });
    await call(a, 6);
    expect((await health(a)).state).toBe('open');
    expect((await health(b)).state).toBe('closed');
    await request(a, { cmd: 'failing', failing: false });
  });

  it('Redis restarted → they re-join and share state again', async () => {
    await redis.start();
    for (const worker of fleet) {
      await waitFor(async () => (await health(worker)).report.details.fleet?.available === true, {
        timeoutMs: 15_000,
        message: `replica ${worker.pid} re-joined`,
      });
    }
    // The restarted Redis is empty: every replica adopted its (closed) state.
    for (const worker of fleet) expect((await health(worker)).state).toBe('closed');
    const [a, b, c] = fleet;
    const before = Date.now();
    await request(c, { cmd: 'failing', failing: true });
    await call(c, 6);
    await Promise.all(
      [a, b].map((w) =>
        w.waitForMessage(
          (m) => m.type === 'state-change' && m.to === 'open' && (m.at as number) >= before,
          5_000,
        ),
      ),
    );
    expect((await call(a, 1)).outcomes).toEqual(['error:KEEL_CIRCUIT_OPEN']);
    expect((await health(b)).report.status).toBe('degraded');
  });
});
