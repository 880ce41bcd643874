/**
 * @keel/coordination against cockatiel and opossum: the per-call overhead (ns) and the heap bytes
 * each adds to a no-op async provider method.
 *
 * Subjects: the undecorated method (baseline); Keel `@Retry + @CircuitBreaker + @Timeout` with a
 * local breaker; the same with the Redis-shared (fleet) breaker, against the Redis of REDIS_URL
 * (default redis://127.0.0.1:6379); cockatiel `wrap(retry, circuitBreaker, timeout)`; opossum
 * `fire()` with its defaults (which include a 10 s timeout). Time: every subject runs CALLS
 * sequential awaited calls per round, subjects interleaved and rotated each round; the overhead is
 * the median over rounds of (subject − baseline). Heap: measured in a child process started with
 * `--expose-gc` and a 256 MB young generation, so no GC runs inside a measured batch and the
 * heap growth over a batch is what the calls allocated; reported as bytes added per call over
 * the baseline, median of rounds.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  CircuitBreaker,
  CircuitBreakerRegistry,
  CoordinationModule,
  Retry,
  Timeout,
} from '@keel/coordination';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import { rotate, timeCalls, version, median, printTable, reportMetric } from './report.js';

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.COORDINATION_BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.COORDINATION_BENCH_CALLS ?? 100_000);
const HEAP_CALLS = 20_000;
const HEAP_ROUNDS = 5;

@Injectable()
class Target {
  async plain(): Promise<number> {
    return 1;
  }

  @Retry({ maxAttempts: 3 })
  @CircuitBreaker({ name: 'bench-local' })
  @Timeout(1_000)
  async keel(): Promise<number> {
    return 1;
  }

  @Retry({ maxAttempts: 3 })
  @CircuitBreaker({ name: 'bench-shared', store: 'redis' })
  @Timeout(1_000)
  async shared(): Promise<number> {
    return 1;
  }
}

@Module({
  imports: [
    KeelCoreModule.forRoot({
      config: loadKeelConfig({ env: {} }),
      serviceName: 'bench',
      redis: REDIS,
      redisKeyPrefix: `keel-bench-${process.pid}:`,
    }),
    CoordinationModule.forRoot({}),
  ],
  providers: [Target],
})
class BenchModule {}

interface Subjects {
  readonly calls: Record<string, () => Promise<unknown>>;
  readonly sharedAvailable: boolean;
  close(): Promise<void>;
}

async function setUp(): Promise<Subjects> {
  const app: INestApplicationContext = await NestFactory.createApplicationContext(BenchModule, {
    logger: false,
  });
  await app.init();
  const target = app.get(Target);
  const registry = app.get(CircuitBreakerRegistry);
  // Wait for the fleet breaker to join the shared store (first sync), at most 3 s.
  for (let i = 0; i < 60 && !registry.fleetStatus().available; i++)
    await new Promise((r) => setTimeout(r, 50));
  const noop = () => target.plain();
  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(1_000, TimeoutStrategy.Aggressive),
  );
  const opossum = new Opossum(noop);
  return {
    calls: {
      baseline: noop,
      keel: () => target.keel(),
      keel_shared: () => target.shared(),
      cockatiel: () => cockatiel.execute(noop),
      opossum: () => opossum.fire(),
    },
    sharedAvailable: registry.fleetStatus().available,
    async close() {
      opossum.shutdown();
      await app.close();
    },
  };
}

async function heapCalls(
  fn: () => Promise<unknown>,
  calls: number,
  gc: () => void,
): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < calls; i++) await fn();
  return (process.memoryUsage().heapUsed - before) / calls;
}

/** Runs in the child: heap bytes per call of every subject, one JSON line on stdout. */
async function heapChild(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the heap child needs --expose-gc');
  const subjects = await setUp();
  const names = Object.keys(subjects.calls);
  for (const name of names) await heapCalls(subjects.calls[name], 5_000, gc); // warm-up
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < HEAP_ROUNDS; round++) {
    for (const name of rotate(names, round))
      samples[name].push(await heapCalls(subjects.calls[name], HEAP_CALLS, gc));
  }
  await subjects.close();
  console.log(
    JSON.stringify({ heap: Object.fromEntries(names.map((n) => [n, median(samples[n])])) }),
  );
}

function measureHeapInChild(): Promise<Record<string, number>> {
  const file = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--max-semi-space-size=256',
        '--min-semi-space-size=256',
        file,
        '--coordination-heap-child',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"heap"'));
      if (code !== 0 || line === undefined)
        reject(new Error(`heap child failed (exit ${code}): ${out}`));
      else resolve((JSON.parse(line) as { heap: Record<string, number> }).heap);
    });
  });
}

/** The suite's entry point (`npm run bench -- coordination`). */
export async function run(): Promise<void> {
  const subjects = await setUp();
  const names = Object.keys(subjects.calls);
  if (!subjects.sharedAvailable) {
    console.log(`warning: Redis at ${REDIS} unreachable; keel_shared measures the local fallback`);
  }
  for (const name of names) await timeCalls(subjects.calls[name], 20_000); // warm-up, JIT
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of rotate(names, round))
      perRound[name].push((await timeCalls(subjects.calls[name], CALLS)).ns);
  }
  await subjects.close();
  const heap = await measureHeapInChild();

  const overhead = (name: string) =>
    median(perRound[name].map((ns, i) => ns - perRound.baseline[i]));
  const added = (name: string) => heap[name] - heap.baseline;
  const label: Record<string, string> = {
    baseline: 'no policy (baseline)',
    keel: 'Keel @Retry+@CircuitBreaker+@Timeout',
    keel_shared: 'Keel, Redis-shared breaker',
    cockatiel: `cockatiel ${version('cockatiel')} wrap(retry, breaker, timeout)`,
    opossum: `opossum ${version('opossum')} fire()`,
  };
  printTable(
    `coordination: no-op async provider method, ${ROUNDS} interleaved rounds × ${CALLS.toLocaleString('en-US')} calls (medians)`,
    ['ns/call', 'overhead ns', 'heap B/call', 'added B/call'],
    names.map(
      (n) =>
        [
          label[n],
          median(perRound[n]),
          n === 'baseline' ? 0 : overhead(n),
          heap[n],
          n === 'baseline' ? 0 : added(n),
        ] as const,
    ),
  );
  reportMetric('coordination', 'overhead_per_call', 'ns', overhead('keel'), {
    cockatiel: overhead('cockatiel'),
    opossum: overhead('opossum'),
  });
  reportMetric('coordination', 'shared_breaker_overhead_per_call', 'ns', overhead('keel_shared'), {
    keel_local: overhead('keel'),
  });
  reportMetric('coordination', 'heap_per_call', 'bytes', added('keel'), {
    cockatiel: added('cockatiel'),
    opossum: added('opossum'),
  });
}

if (process.argv.includes('--coordination-heap-child')) {
  heapChild().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
