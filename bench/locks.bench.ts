/**
 * @keel/locks against redlock 4.2.0 (node-redlock, run with ioredis 6, which it accepts) and
 * redis-semaphore's Mutex, plus the 2-round-trip floor: SET NX PX to acquire and a
 * compare-and-delete by EVALSHA to release. Everything runs in this process against the Redis of
 * REDIS_URL (default redis://127.0.0.1:6379), subjects interleaved block by block (one worker) or
 * round by round, medians reported. Every subject gets identical ioredis clients: the uncontended
 * part runs once with auto-pipelining on (as Keel's connection factory configures it; the JSON
 * lines) and once with ioredis' defaults (auto-pipelining off); the contended part runs with
 * auto-pipelining on. Keel runs with fencing tokens and renewal on.
 *
 * (a) uncontended: sequential acquire+release on distinct keys; (b) 50 parallel workers on
 * distinct keys; (c) 10 workers (each its own connections) on one key holding ~1 ms: hand-offs
 * to another worker per second, hand-off latency (release called → another worker has the
 * lock), and the spread of waiting times (p99 / median). Keel is measured with `fair: true`.
 * (d) Keel alone, across processes: 8 processes × 500 critical sections on one key, each a
 * read-modify-write of a Redis counter that only the lock protects; sections per second, and
 * the run fails on any overlap, fencing token out of grant order or lost update (the test suite
 * runs the same check at 8 × 100).
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { KeelMetrics, RedisScript } from '@keel/core';
import { LockService, RedisLockStore, type Lock } from '@keel/locks';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import { RELEASE_MANY_SCRIPT, TRY_SCRIPT } from '@keel/locks/internal';
import { median, percentile, printTable, reportMetric } from './report.js';

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.LOCKS_BENCH_ROUNDS ?? 11);
const CONTENDED_ROUNDS = Number(process.env.LOCKS_BENCH_CONTENDED_ROUNDS ?? 3);
const CONTENDED_MS = Number(process.env.LOCKS_BENCH_CONTENDED_MS ?? 3_000);
const SEQUENTIAL_BLOCKS = Number(process.env.LOCKS_BENCH_BLOCKS ?? 60);
const BLOCK_OPS = 100;
const PARALLEL_WORKERS = 50;
const PARALLEL_OPS_PER_WORKER = 120;
const CONTENDERS = 10;
const TTL_MS = 10_000;
const PROCESSES = Number(process.env.LOCKS_BENCH_PROCESSES ?? 8);
const PROCESS_SECTIONS = Number(process.env.LOCKS_BENCH_PROCESS_SECTIONS ?? 500);

/** One subject: how to take and release one lock on a key. */
interface Subject {
  readonly name: string;
  lock(key: string): Promise<() => Promise<unknown>>;
  close(): Promise<void>;
}

interface RedlockInstance {
  lock(resource: string, ttl: number): Promise<{ unlock(): Promise<unknown> }>;
  on(event: 'clientError', listener: (error: Error) => void): void;
}
type RedlockConstructor = new (
  clients: Redis[],
  options?: Record<string, number>,
) => RedlockInstance;

/**
 * How every subject's clients are made in one pass: auto-pipelined, as Keel's connection factory
 * makes them, or ioredis' defaults (auto-pipelining off), as most users of the peers run them.
 */
type Clients = { readonly autoPipelining: boolean };

function client(clients: Clients): Redis {
  return new Redis(REDIS, {
    enableAutoPipelining: clients.autoPipelining,
    maxRetriesPerRequest: 2,
  });
}

async function quit(...clients: Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
}

const RUN = randomBytes(4).toString('hex');

async function baseline(clients: Clients): Promise<Subject> {
  const redis = client(clients);
  // Plain EVALSHA, not ioredis' defineCommand: a defined command makes every auto-pipeline on the
  // connection copy the script table (see RedisScript), which would slow the floor itself.
  const sha = (await redis.script(
    'LOAD',
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  )) as string;
  let n = 0;
  return {
    name: 'baseline',
    async lock(key) {
      const token = `${RUN}.${++n}`;
      if ((await redis.set(key, token, 'PX', TTL_MS, 'NX')) !== 'OK')
        throw new Error(`baseline: ${key} is held`);
      return () => redis.evalsha(sha, 1, key, token);
    },
    close: () => quit(redis),
  };
}

/**
 * Keel's own fenced scripts, written to the connection the way Keel writes them
 * (`RedisScript.send`), with no library code around them (table only): what any lock that issues
 * a fencing token in its acquiring round trip pays.
 */
function fencedFloor(clients: Clients): Subject {
  const redis = client(clients);
  const counter = `bench:${RUN}:fenced-floor:fence`;
  let n = 0;
  return {
    name: 'fenced floor',
    async lock(key) {
      const token = `${RUN}.${++n}`;
      const fence = await FENCED_TRY.send(redis, 2, key, counter, token, TTL_MS);
      if (typeof fence !== 'string') throw new Error(`fenced floor: ${key} is held`);
      return () => FENCED_RELEASE.send(redis, 1, key, `${token}|${fence}`);
    },
    async close() {
      await redis.del(counter);
      await quit(redis);
    },
  };
}
const FENCED_TRY = new RedisScript<string | number>(TRY_SCRIPT);
const FENCED_RELEASE = new RedisScript<number[]>(RELEASE_MANY_SCRIPT);

function keel(clients: Clients, options: { fair?: boolean } = {}): Subject {
  const redis = client(clients);
  const subscriber = client(clients);
  const store = new RedisLockStore({
    client: redis,
    subscriber: () => subscriber,
    prefix: `bench:keel:${RUN}:`,
  });
  const locks = new LockService(
    store,
    {
      store: 'redis',
      ttlMs: TTL_MS,
      autoRenew: true,
      waitMs: 60_000,
      fair: options.fair ?? false,
      reentrant: false,
      deadlockDetection: true,
      keyPrefix: '',
    },
    new KeelMetrics(),
  );
  return {
    name: 'keel',
    async lock(key) {
      const lock: Lock = await locks.acquire(key, { autoRenew: true });
      return () => lock.release();
    },
    async close() {
      await locks.beforeApplicationShutdown();
      // The fence counters outlive the locks by an hour; a benchmark leaves nothing behind.
      for await (const keys of redis.scanStream({ match: `bench:keel:${RUN}:*`, count: 1_000 })) {
        if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
      }
      await quit(redis, subscriber);
    },
  };
}

async function redlock(clients: Clients): Promise<Subject> {
  // redlock 4 ships no types; loaded by name so the compiler does not look for them.
  const name = 'redlock';
  const { default: Redlock } = (await import(name)) as { default: RedlockConstructor };
  const redis = client(clients);
  const instance = new Redlock([redis]); // defaults: 10 retries, 200 ms ± 100 ms apart
  instance.on('clientError', () => undefined);
  return {
    name: 'redlock',
    async lock(key) {
      const lock = await instance.lock(key, TTL_MS);
      return () => lock.unlock();
    },
    close: () => quit(redis),
  };
}

function semaphore(clients: Clients): Subject {
  const redis = client(clients);
  return {
    name: 'redis-semaphore',
    async lock(key) {
      // Defaults: 10 s lock timeout refreshed at 80%, retry every 10 ms for up to 10 s.
      const mutex = new Mutex(redis as never, key);
      await mutex.acquire();
      return () => mutex.release();
    },
    close: () => quit(redis),
  };
}

type Factory = (clients: Clients) => Subject | Promise<Subject>;

const AUTO_PIPELINED: Clients = { autoPipelining: true };

const FACTORIES: Record<string, Factory> = {
  baseline,
  'fenced floor': fencedFloor,
  keel: (clients) => keel(clients),
  redlock,
  'redis-semaphore': semaphore,
};

async function sequential(subject: Subject, keyPrefix: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < BLOCK_OPS; i++) {
    const release = await subject.lock(`${keyPrefix}:${i}`);
    await release();
  }
  return BLOCK_OPS / ((performance.now() - start) / 1_000);
}

async function parallel(subject: Subject, keyPrefix: string): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PARALLEL_WORKERS }, async (_, w) => {
      for (let i = 0; i < PARALLEL_OPS_PER_WORKER; i++) {
        const release = await subject.lock(`${keyPrefix}:${w}:${i}`);
        await release();
      }
    }),
  );
  return (PARALLEL_WORKERS * PARALLEL_OPS_PER_WORKER) / ((performance.now() - start) / 1_000);
}

interface ContendedResult {
  readonly toOthersPerSecond: number;
  readonly acquisitionsPerSecond: number;
  readonly backToReleaser: number;
  readonly failures: number;
  readonly handoffP50: number;
  readonly handoffP99: number;
  readonly waitP50: number;
  readonly waitP99: number;
}

async function contended(factory: Factory, name: string, round: number): Promise<ContendedResult> {
  const workers = await Promise.all(
    Array.from({ length: CONTENDERS }, () => factory(AUTO_PIPELINED)),
  );
  const key = `bench:${RUN}:contended:${name}:${round}`;
  const handoffs: number[] = [];
  const waits: number[] = [];
  let lastReleaser = -1;
  let releasedAt = 0;
  let toOthers = 0;
  let total = 0;
  let backToReleaser = 0;
  let failures = 0;
  const start = performance.now();
  const end = start + CONTENDED_MS;
  await Promise.all(
    workers.map(async (subject, w) => {
      while (performance.now() < end) {
        const asked = performance.now();
        let release: () => Promise<unknown>;
        try {
          release = await subject.lock(key);
        } catch {
          failures++;
          continue;
        }
        const got = performance.now();
        waits.push(got - asked);
        total++;
        if (lastReleaser >= 0) {
          if (lastReleaser === w) backToReleaser++;
          else {
            // A hand-off is the lock passing to another worker; a releaser taking it straight
            // back is not one (and would flatter libraries that poll).
            toOthers++;
            handoffs.push(got - releasedAt);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
        lastReleaser = w;
        releasedAt = performance.now();
        await release();
      }
    }),
  );
  const seconds = (performance.now() - start) / 1_000;
  await Promise.all(workers.map((s) => s.close()));
  return {
    toOthersPerSecond: toOthers / seconds,
    acquisitionsPerSecond: total / seconds,
    backToReleaser: total > 1 ? backToReleaser / (total - 1) : 0,
    failures,
    handoffP50: percentile(handoffs, 50),
    handoffP99: percentile(handoffs, 99),
    waitP50: percentile(waits, 50),
    waitP99: percentile(waits, 99),
  };
}

interface MultiProcessResult {
  readonly sections: number;
  readonly seconds: number;
  readonly overlaps: number;
  readonly outOfOrderFences: number;
  readonly lostUpdates: number;
}

/** (d): {@link PROCESSES} processes, each {@link PROCESS_SECTIONS} sections on one key. */
async function multiProcess(): Promise<MultiProcessResult> {
  const fixture = new URL('./fixtures/lock-sections.js', import.meta.url);
  const counterKey = `bench:${RUN}:processes:counter`;
  const env = {
    ...process.env,
    LOCK_REDIS_URL: REDIS,
    LOCK_PREFIX: `bench:keel:${RUN}:processes:`,
    LOCK_KEY: 'shared',
    COUNTER_KEY: counterKey,
    COUNT: String(PROCESS_SECTIONS),
  };
  const children = Array.from({ length: PROCESSES }, () => {
    const child = spawn(process.execPath, [fixture.pathname], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const next = (event: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`lock-sections exited (${code})`)));
        lines.on('line', (line) => {
          const message = JSON.parse(line) as Record<string, unknown>;
          if (message.event === event) resolve(message);
        });
      });
    return { child, ready: next('ready'), done: next('done') };
  });
  await Promise.all(children.map((c) => c.ready));
  const start = performance.now();
  for (const { child } of children) child.stdin.write('go\n');
  const results = await Promise.all(children.map((c) => c.done));
  const seconds = (performance.now() - start) / 1_000;
  const sections = results
    .flatMap((r) => r.sections as [number, number, number][])
    .sort((a, b) => a[0] - b[0]);
  let overlaps = 0;
  let outOfOrderFences = 0;
  for (let i = 1; i < sections.length; i++) {
    if (sections[i][0] < sections[i - 1][1]) overlaps++;
    if (sections[i][2] <= sections[i - 1][2]) outOfOrderFences++;
  }
  const redis = new Redis(REDIS);
  const counted = Number(await redis.get(counterKey));
  for await (const keys of redis.scanStream({ match: `bench:*${RUN}:processes:*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
  }
  await quit(redis);
  return {
    sections: sections.length,
    seconds,
    overlaps,
    outOfOrderFences,
    lostUpdates: sections.length - counted,
  };
}

interface Uncontended {
  /** Median ops/s per subject, one worker. */
  readonly one: Record<string, number>;
  /** Median ops/s per subject, {@link PARALLEL_WORKERS} workers. */
  readonly many: Record<string, number>;
}

/** The uncontended measurements, every subject on clients made one way. */
async function uncontended(clients: Clients): Promise<Uncontended> {
  const names = Object.keys(FACTORIES);
  const seq: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const par: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const subjects = await Promise.all(names.map(async (n) => FACTORIES[n](clients)));
  // Each pass takes its own keys: nothing a pass leaves behind can be held when the next one runs.
  const pass = `bench:${RUN}:${clients.autoPipelining ? 'pipelined' : 'plain'}`;
  // Warm-up: connections, script loading, JIT.
  for (const subject of subjects) {
    for (let i = 0; i < 300; i++) await (await subject.lock(`${pass}:warm:${subject.name}:${i}`))();
  }
  // One worker: short blocks with the subjects in rotating order, so that the load other tenants
  // put on a shared machine, which drifts over seconds, falls on every subject alike.
  for (let block = 0; block < SEQUENTIAL_BLOCKS; block++) {
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[(block + i) % subjects.length];
      seq[subject.name].push(await sequential(subject, `${pass}:seq:${subject.name}:${block}`));
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order)
      par[subject.name].push(await parallel(subject, `${pass}:par:${subject.name}:${round}`));
  }
  await Promise.all(subjects.map((s) => s.close()));
  const medians = (values: Record<string, number[]>) =>
    Object.fromEntries(names.map((n) => [n, median(values[n])]));
  return { one: medians(seq), many: medians(par) };
}

function printUncontended(title: string, { one, many }: Uncontended): void {
  printTable(
    `locks: uncontended acquire+release, ops/s, ${title} (1 worker: median of ${SEQUENTIAL_BLOCKS} interleaved blocks of ${BLOCK_OPS}; ${PARALLEL_WORKERS} workers: median of ${ROUNDS} interleaved rounds)`,
    [
      '1 worker',
      `${PARALLEL_WORKERS} workers`,
      'vs baseline (1)',
      `vs baseline (${PARALLEL_WORKERS})`,
    ],
    Object.keys(one).map((n) => [
      n,
      one[n],
      many[n],
      one[n] / one.baseline,
      many[n] / many.baseline,
    ]),
  );
}

/** Runs the locks suite and prints its tables and JSON lines. */
export async function run(): Promise<void> {
  // The JSON lines use auto-pipelined clients, as Keel's connection factory makes them.
  const pipelined = await uncontended(AUTO_PIPELINED);
  const plain = await uncontended({ autoPipelining: false });

  const contendedFactories: [string, Factory][] = [
    ['keel', (clients) => keel(clients, { fair: true })],
    // For the table only: unfair waiting (woken on release, newcomers may barge).
    ['keel (fair: false)', (clients) => keel(clients, { fair: false })],
    ['redlock', redlock],
    ['redis-semaphore', semaphore],
  ];
  const results: Record<string, ContendedResult[]> = Object.fromEntries(
    contendedFactories.map(([n]) => [n, []]),
  );
  for (let round = 0; round < CONTENDED_ROUNDS; round++) {
    const order = round % 2 === 0 ? contendedFactories : [...contendedFactories].reverse();
    for (const [name, factory] of order) results[name].push(await contended(factory, name, round));
  }

  const processes = await multiProcess();

  const med = (name: string, pick: (r: ContendedResult) => number) =>
    median(results[name].map(pick));
  printUncontended('auto-pipelined clients (as Keel makes them)', pipelined);
  printUncontended("ioredis' default clients (auto-pipelining off)", plain);
  printTable(
    `locks: ${CONTENDERS} workers on one key, ~1 ms holds, ${CONTENDED_MS / 1_000} s windows (median of ${CONTENDED_ROUNDS} rounds; the JSON lines use keel with fair: true)`,
    [
      'to others/s',
      'all acq/s',
      'back to releaser',
      'failures',
      'hand-off p50 ms',
      'hand-off p99 ms',
      'wait p50 ms',
      'wait p99 ms',
      'p99/p50',
    ],
    contendedFactories.map(([n]) => [
      n,
      med(n, (r) => r.toOthersPerSecond),
      med(n, (r) => r.acquisitionsPerSecond),
      `${(med(n, (r) => r.backToReleaser) * 100).toFixed(1)}%`,
      med(n, (r) => r.failures),
      med(n, (r) => r.handoffP50),
      med(n, (r) => r.handoffP99),
      med(n, (r) => r.waitP50),
      med(n, (r) => r.waitP99),
      med(n, (r) => r.waitP99 / r.waitP50),
    ]),
  );

  printTable(
    `locks: ${PROCESSES} processes × ${PROCESS_SECTIONS} critical sections on one key (keel, fair: false; each section a read-modify-write of a Redis counter)`,
    ['sections', 'seconds', 'sections/s', 'overlaps', 'fences out of order', 'lost updates'],
    [
      [
        'keel',
        processes.sections,
        processes.seconds,
        processes.sections / processes.seconds,
        processes.overlaps,
        processes.outOfOrderFences,
        processes.lostUpdates,
      ],
    ],
  );
  if (
    processes.sections !== PROCESSES * PROCESS_SECTIONS ||
    processes.overlaps + processes.outOfOrderFences + processes.lostUpdates > 0
  ) {
    throw new Error(
      `locks: the multi-process run broke mutual exclusion: ${JSON.stringify(processes)}`,
    );
  }

  const peersOf = (
    values: Record<string, number>,
    keelValue: number,
    metric: string,
    unit: string,
  ) => reportMetric('locks', metric, unit, keelValue, values);
  const others = (pick: (r: ContendedResult) => number) => ({
    redlock: med('redlock', pick),
    'redis-semaphore': med('redis-semaphore', pick),
  });
  peersOf(
    {
      baseline: pipelined.one.baseline,
      redlock: pipelined.one.redlock,
      'redis-semaphore': pipelined.one['redis-semaphore'],
    },
    pipelined.one.keel,
    'uncontended_1',
    'ops/s',
  );
  peersOf(
    {
      baseline: pipelined.many.baseline,
      redlock: pipelined.many.redlock,
      'redis-semaphore': pipelined.many['redis-semaphore'],
    },
    pipelined.many.keel,
    'uncontended_50',
    'ops/s',
  );
  peersOf(
    others((r) => r.toOthersPerSecond),
    med('keel', (r) => r.toOthersPerSecond),
    'contended_throughput',
    'acquisitions/s',
  );
  peersOf(
    others((r) => r.handoffP99),
    med('keel', (r) => r.handoffP99),
    'handoff_p99',
    'ms',
  );
  peersOf(
    others((r) => r.waitP99 / r.waitP50),
    med('keel', (r) => r.waitP99 / r.waitP50),
    'wait_p99_over_median',
    'ratio',
  );
}
