/**
 * @keel/coordination `@Cached` against cache-manager: the cost (ns) of one cache *hit* added to
 * a no-op async provider method, in process and from Redis, and how many times a slow method
 * runs when a fleet of replicas asks for one cold key at once.
 *
 * Subjects: the undecorated method (baseline), returning a ~100 B object; `@Cached` hit from the
 * in-process tier, in an application *with* Redis (the real deployment: the in-process tier is
 * used once the invalidation feed is live, which the suite waits for); cache-manager's
 * `wrap()` on its default in-memory Keyv; `@Cached` in a second application on the same Redis and
 * key prefix configured with `cache: { maxEntries: 0 }` (no in-process tier), so every hit is one
 * Redis GET and a decode; cache-manager's `wrap()` on a Keyv with `@keyv/redis` (node-redis: it
 * takes no ioredis client); a bare GET of Keel's stored entry on an ioredis client configured as
 * Keel's connection factory configures its own (auto-pipelined, 2 retries per command), the floor
 * of any Redis hit. Redis is REDIS_URL (default redis://127.0.0.1:6379), every key under a prefix
 * unique to the run.
 *
 * Time: every subject runs sequential awaited calls per round (`CACHE_BENCH_CALLS` for the
 * in-process ones, `CACHE_BENCH_REDIS_CALLS` for the Redis ones), subjects interleaved and rotated
 * each round; the overhead is the median over rounds of (subject − baseline). Beside it, the CPU
 * time (user + system, the whole process) per call, and the Redis commands per call of each Redis
 * subject from `INFO commandstats` around its batches (every client of that Redis is counted:
 * other work on it shows up here), medians of rounds.
 *
 * Stampede: three Keel applications (replicas: same Redis and prefix, each its own CacheService
 * and engine) fire 100 concurrent calls each at one cold key whose method takes ~50 ms; the same
 * with three cache-manager instances on `@keyv/redis` × 100 concurrent `wrap()`. Counted: how many
 * times the method body ran, and the wall time until all 300 calls resolved; fresh keys each of
 * `CACHE_BENCH_STAMPEDE_ROUNDS` rounds, medians. Every hit and every stampede result is checked
 * against the value the method returns; a wrong one fails the run.
 */
import 'reflect-metadata';
import { deepStrictEqual } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis, type RedisOptions } from 'ioredis';
import { createCache, type Cache } from 'cache-manager';
import { createKeyv } from '@keyv/redis';
import { KeelCoreModule, KeelMetrics, loadKeelConfig } from '@keel/core';
import {
  CacheService,
  Cached,
  CoordinationModule,
  type CoordinationModuleOptions,
} from '@keel/coordination';
import {
  commandsPerCall,
  rotate,
  timeCalls,
  version,
  median,
  printTable,
  reportMetric,
} from './report.js';

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.CACHE_BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.CACHE_BENCH_CALLS ?? 100_000);
const REDIS_CALLS = Number(process.env.CACHE_BENCH_REDIS_CALLS ?? 5_000);
const STAMPEDE_ROUNDS = Number(process.env.CACHE_BENCH_STAMPEDE_ROUNDS ?? 5);
const REPLICAS = 3;
const CONCURRENT = 100;
/** The stampede: about 1 000 concurrent misses across three processes. */
const PROCESS_CONCURRENT = 334;
const WORKER = 'dist/libs/coordination/test/fixtures/cache-worker.js';
const BODY_MS = 50;
const PREFIX = `keel-bench-cache-${process.pid}-${Date.now().toString(36)}:`;
const SERVICE = 'bench';
const TTL_MS = 600_000;
const ID = 1;
/** Where Keel's RedisCacheStore keeps `@Cached({ name: 'bench', key: '{id}' })` for ID. */
const KEEL_STORED_KEY = `${PREFIX}cache:{${SERVICE}:bench:${ID}}`;

/** As `RedisConnectionFactory` makes Keel's own connections (libs/core/src/redis). */
const KEEL_CLIENT_OPTIONS: RedisOptions = { enableAutoPipelining: true, maxRetriesPerRequest: 2 };

interface Item {
  readonly id: number;
  readonly name: string;
  readonly tags: readonly string[];
}

/** The method's result: 98 bytes of JSON. */
function item(id: number): Item {
  return {
    id,
    name: `benchmark item number ${id}`,
    tags: ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'],
  };
}

@Injectable()
class Items {
  /** Runs of the cached method's body. */
  loads = 0;
  /** Runs of the slow method's body (the stampede). */
  slowLoads = 0;

  async plain(id: number): Promise<Item> {
    return item(id);
  }

  @Cached({ name: 'bench', key: '{id}', ttlMs: TTL_MS })
  async cached(id: number): Promise<Item> {
    this.loads++;
    return item(id);
  }

  @Cached({ name: 'stampede', key: '{key}', ttlMs: TTL_MS })
  async slow(key: string): Promise<Item> {
    this.slowLoads++;
    await sleep(BODY_MS);
    return { ...item(ID), name: key };
  }
}

/** A replica of the service: its own application, the same Redis, key prefix and name. */
async function bootApp(coordination: CoordinationModuleOptions): Promise<INestApplicationContext> {
  class CacheBenchModule {}
  Module({
    imports: [
      KeelCoreModule.forRoot({
        config: loadKeelConfig({ env: {} }),
        serviceName: SERVICE,
        redis: REDIS,
        redisKeyPrefix: PREFIX,
      }),
      CoordinationModule.forRoot(coordination),
    ],
    providers: [Items],
  })(CacheBenchModule);
  const app = await NestFactory.createApplicationContext(CacheBenchModule, {
    logger: false,
    abortOnError: false,
  });
  await app.init();
  return app;
}

/** Waits until the app's invalidation feed is live, so its in-process tier is in use. */
async function live(app: INestApplicationContext): Promise<void> {
  const cache = app.get(CacheService);
  await cache.get('warm-up', 'x');
  const deadline = Date.now() + 10_000;
  while (!cache.status().localTier) {
    if (Date.now() > deadline) throw new Error(`the cache's invalidation feed never went live`);
    await sleep(10);
  }
}

/** `keel_cache_requests_total` of cache `name` by result, from the app's metrics. */
async function cacheRequests(
  app: INestApplicationContext,
  name: string,
): Promise<Record<string, number>> {
  const text = await app.get(KeelMetrics).render();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^keel_cache_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (!m[1].includes(`name="${name}"`)) continue;
    const result = /result="([^"]+)"/.exec(m[1])?.[1];
    if (result !== undefined) counts[result] = Number(m[2]);
  }
  return counts;
}

interface Subject {
  readonly call: () => Promise<unknown>;
  /** Talks to Redis: fewer calls per round, and its commands are counted. */
  readonly redis: boolean;
}

interface Setup {
  readonly subjects: Record<string, Subject>;
  readonly local: INestApplicationContext;
  readonly shared: INestApplicationContext;
  readonly replicas: readonly INestApplicationContext[];
  readonly cmReplicas: readonly Cache[];
  commandStats(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

async function setUp(): Promise<Setup> {
  const local = await bootApp({});
  const shared = await bootApp({ cache: { maxEntries: 0 } });
  const replicas = [local];
  for (let i = 1; i < REPLICAS; i++) replicas.push(await bootApp({}));
  await Promise.all([...replicas, shared].map(live));
  const items = local.get(Items);
  const sharedItems = shared.get(Items);

  const cmMemory = createCache();
  const cmRedis = createCache({ stores: [createKeyv(REDIS, { namespace: `${PREFIX}cm` })] });
  // Replicas of a service on cache-manager: each its own instance (its own cacheId, so its own
  // in-process coalescing) and connection, one shared namespace.
  const cmReplicas = Array.from({ length: REPLICAS }, () =>
    createCache({ stores: [createKeyv(REDIS, { namespace: `${PREFIX}cm-stampede` })] }),
  );
  const getClient = new Redis(REDIS, KEEL_CLIENT_OPTIONS);
  const directClient = new Redis(REDIS, { maxRetriesPerRequest: 2 });
  const admin = new Redis(REDIS, { maxRetriesPerRequest: 2 });
  const clients = [getClient, directClient, admin];
  await Promise.all(clients.map((c) => c.ping()));

  return {
    subjects: {
      baseline: { call: () => items.plain(ID), redis: false },
      cache_hit_local: { call: () => items.cached(ID), redis: false },
      cache_manager_memory: {
        call: () => cmMemory.wrap(`bench:${ID}`, () => items.plain(ID), TTL_MS),
        redis: false,
      },
      cache_hit_redis: { call: () => sharedItems.cached(ID), redis: true },
      cache_manager_redis: {
        call: () => cmRedis.wrap(`bench:${ID}`, () => items.plain(ID), TTL_MS),
        redis: true,
      },
      redis_get: { call: () => getClient.get(KEEL_STORED_KEY), redis: true },
      redis_get_direct: { call: () => directClient.get(KEEL_STORED_KEY), redis: true },
    },
    local,
    shared,
    replicas,
    cmReplicas,
    async commandStats() {
      const info = await admin.info('commandstats');
      const stats = new Map<string, number>();
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] !== 'info') stats.set(match[1], Number(match[2]));
      }
      return stats;
    },
    async close() {
      await Promise.all([...replicas, shared].map((app) => app.close()));
      await Promise.all([cmMemory, cmRedis, ...cmReplicas].map((c) => c.disconnect()));
      // Every key of the run (entries, leases, cache-manager's) expires in TTL_MS; drop them now.
      const keys: string[] = [];
      for await (const batch of admin.scanStream({ match: `${PREFIX}*`, count: 1_000 }))
        keys.push(...(batch as string[]));
      if (keys.length > 0) await admin.unlink(...keys).catch(() => undefined);
      await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    },
  };
}

interface Stampede {
  /** Times the method body ran. */
  readonly executions: number;
  /** From the first call to the last resolved, ms. */
  readonly wallMs: number;
}

/** 3 replicas × 100 concurrent calls at one cold key; every result checked. */
async function stampede(
  fire: (replica: number, key: string) => Promise<Item>,
  executions: () => number,
  key: string,
): Promise<Stampede> {
  const before = executions();
  const start = process.hrtime.bigint();
  const calls: Promise<Item>[] = [];
  for (let r = 0; r < REPLICAS; r++) for (let c = 0; c < CONCURRENT; c++) calls.push(fire(r, key));
  const results = await Promise.all(calls);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const expected = { ...item(ID), name: key };
  for (const result of results) deepStrictEqual(result, expected);
  return { executions: executions() - before, wallMs };
}

/** The suite's entry point (`npm run bench -- cache`). */
export async function run(): Promise<void> {
  const setup = await setUp();
  const { subjects, local, shared, replicas, cmReplicas } = setup;
  const names = Object.keys(subjects);
  const callsOf = (name: string) => (subjects[name].redis ? REDIS_CALLS : CALLS);

  // The one miss: the local app loads and stores; every later call of either app is a hit.
  deepStrictEqual(await local.get(Items).cached(ID), item(ID));
  deepStrictEqual(await shared.get(Items).cached(ID), item(ID)); // decoded from Redis
  deepStrictEqual(await subjects.cache_manager_memory.call(), item(ID));
  deepStrictEqual(await subjects.cache_manager_redis.call(), item(ID));
  if ((await subjects.redis_get.call()) === null)
    throw new Error(`Keel's entry is not at ${KEEL_STORED_KEY}`);
  const sharedBefore = await cacheRequests(shared, 'bench');
  const localBefore = await cacheRequests(local, 'bench');
  // Warm-up: JIT, connections.
  for (const name of names) await timeCalls(subjects[name].call, Math.min(20_000, callsOf(name)));

  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpuPerRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const commands: Record<string, Map<string, number>[]> = Object.fromEntries(
    names.map((n) => [n, []]),
  );
  let measuredShared = 0;
  let measuredLocal = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of rotate(names, round)) {
      const { call, redis } = subjects[name];
      const before = redis ? await setup.commandStats() : undefined;
      const { ns, cpuNs } = await timeCalls(call, callsOf(name));
      perRound[name].push(ns);
      cpuPerRound[name].push(cpuNs);
      if (before !== undefined)
        commands[name].push(commandsPerCall(before, await setup.commandStats(), callsOf(name)));
    }
    measuredShared += callsOf('cache_hit_redis');
    measuredLocal += callsOf('cache_hit_local');
  }

  // What the hits were: every call after the first a hit of its tier, the body run once.
  const problems: string[] = [];
  const loads = local.get(Items).loads + shared.get(Items).loads;
  if (loads !== 1) problems.push(`the cached method body ran ${loads} times, not once`);
  const sharedAfter = await cacheRequests(shared, 'bench');
  const localAfter = await cacheRequests(local, 'bench');
  const grew = (after: Record<string, number>, before: Record<string, number>, k: string) =>
    (after[k] ?? 0) - (before[k] ?? 0);
  const warmShared = Math.min(20_000, REDIS_CALLS);
  const warmLocal = Math.min(20_000, CALLS);
  if (grew(sharedAfter, sharedBefore, 'hit_shared') !== measuredShared + warmShared)
    problems.push(
      `cache_hit_redis: ${JSON.stringify(sharedAfter)} (before ${JSON.stringify(sharedBefore)}), expected ${measuredShared + warmShared} more hit_shared`,
    );
  if (grew(localAfter, localBefore, 'hit_local') !== measuredLocal + warmLocal)
    problems.push(
      `cache_hit_local: ${JSON.stringify(localAfter)} (before ${JSON.stringify(localBefore)}), expected ${measuredLocal + warmLocal} more hit_local`,
    );
  if (!local.get(CacheService).status().localTier)
    problems.push('the local app lost its invalidation feed during the run');
  for (const app of [local, shared])
    if (!app.get(CacheService).status().available) problems.push('a cache store went unreachable');

  // Stampede: fresh keys each round, Keel and cache-manager alternating which goes first.
  const keelItems = replicas.map((app) => app.get(Items));
  let cmExecutions = 0;
  const keelStampede: Stampede[] = [];
  const cmStampede: Stampede[] = [];
  const runKeel = (round: number) =>
    stampede(
      (r, key) => keelItems[r].slow(key),
      () => keelItems.reduce((sum, items) => sum + items.slowLoads, 0),
      `keel-stampede-${round}`,
    );
  const runCacheManager = (round: number) =>
    stampede(
      (r, key) =>
        cmReplicas[r].wrap(
          key,
          async () => {
            cmExecutions++;
            await sleep(BODY_MS);
            return { ...item(ID), name: key };
          },
          TTL_MS,
        ),
      () => cmExecutions,
      `cm-stampede-${round}`,
    );
  for (let round = 0; round < STAMPEDE_ROUNDS; round++) {
    if (round % 2 === 0) {
      keelStampede.push(await runKeel(round));
      cmStampede.push(await runCacheManager(round));
    } else {
      cmStampede.push(await runCacheManager(round));
      keelStampede.push(await runKeel(round));
    }
  }
  // Each replica looked the key up itself (a miss) and, but for the one holding the fill lease,
  // was answered from Redis (hit_shared): the one body run is the fleet lease's doing, not some
  // state the three applications share in this process.
  const stampedeCounts = await Promise.all(replicas.map((app) => cacheRequests(app, 'stampede')));
  const sharedHits = stampedeCounts.reduce((sum, c) => sum + (c.hit_shared ?? 0), 0);
  if (stampedeCounts.some((c) => c.miss !== STAMPEDE_ROUNDS))
    problems.push(
      `stampede: a replica did not miss once per round: ${JSON.stringify(stampedeCounts)}`,
    );
  await setup.close();

  const overhead = (name: string) =>
    median(perRound[name].map((ns, i) => ns - perRound.baseline[i]));
  /** Median over rounds of each command's calls per subject call, and their sum. */
  const commandsOf = (name: string): { total: number; breakdown: string } => {
    const rounds = commands[name];
    const commandNames = [...new Set(rounds.flatMap((r) => [...r.keys()]))].sort();
    const each = commandNames
      .map((c) => [c, median(rounds.map((r) => r.get(c) ?? 0))] as const)
      .filter(([, n]) => n >= 0.005);
    return {
      total: median(rounds.map((r) => [...r.values()].reduce((a, b) => a + b, 0))),
      breakdown: each.map(([c, n]) => `${c} ${n.toFixed(2)}`).join(' + '),
    };
  };
  const cm = `cache-manager ${version('cache-manager')}`;
  const label: Record<string, string> = {
    baseline: 'no cache (baseline)',
    cache_hit_local: 'Keel @Cached, in-process hit (app with Redis)',
    cache_manager_memory: `${cm} wrap(), default memory Keyv ${version('keyv')}`,
    cache_hit_redis: 'Keel @Cached, Redis hit (maxEntries: 0)',
    cache_manager_redis: `${cm} wrap(), @keyv/redis ${version('@keyv/redis')}`,
    redis_get: `GET, ioredis ${version('ioredis')} as Keel's (auto-pipelined)`,
    redis_get_direct: 'GET, ioredis defaults (no auto-pipeline): one round trip',
  };
  printTable(
    `cache: hits on a no-op async provider method returning a ${JSON.stringify(item(ID)).length} B object, ${ROUNDS} interleaved rounds × ${CALLS.toLocaleString('en-US')} calls (Redis subjects ${REDIS_CALLS.toLocaleString('en-US')}), medians`,
    ['ns/call', 'overhead ns', 'cpu ns/call', 'redis cmds/call'],
    names.map(
      (n) =>
        [
          label[n],
          median(perRound[n]),
          n === 'baseline' ? 0 : overhead(n),
          median(cpuPerRound[n]),
          subjects[n].redis ? commandsOf(n).total : '—',
        ] as const,
    ),
  );
  console.log('\nredis_commands_per_call (INFO commandstats, every client of this Redis):');
  for (const n of names.filter((name) => subjects[name].redis))
    console.log(`  ${n}: ${commandsOf(n).breakdown}`);

  const executions = (runs: readonly Stampede[]) => median(runs.map((s) => s.executions));
  const wall = (runs: readonly Stampede[]) => median(runs.map((s) => s.wallMs));
  const each = (runs: readonly Stampede[]) => runs.map((s) => s.executions).join(' ');
  printTable(
    `cache: stampede, ${REPLICAS} replicas × ${CONCURRENT} concurrent calls at one cold key, method body ${BODY_MS} ms, ${STAMPEDE_ROUNDS} rounds, medians`,
    ['body runs', 'runs by round', 'wall ms (all resolved)'],
    [
      [
        `Keel @Cached, ${REPLICAS} apps on one Redis`,
        executions(keelStampede),
        each(keelStampede),
        wall(keelStampede),
      ],
      [
        `${cm} wrap(), ${REPLICAS} instances on @keyv/redis`,
        executions(cmStampede),
        each(cmStampede),
        wall(cmStampede),
      ],
    ],
  );

  console.log(
    `\nKeel stampede, keel_cache_requests_total by replica: ${stampedeCounts.map((c) => JSON.stringify(c)).join(' ')} (answered from Redis while another replica filled: ${sharedHits} of ${(REPLICAS - 1) * STAMPEDE_ROUNDS} expected)`,
  );

  const processes = await processStampede();
  console.log(
    `\ncache: stampede across ${REPLICAS} processes × ${PROCESS_CONCURRENT} concurrent calls (${REPLICAS * PROCESS_CONCURRENT} in all) at one cold key, body ${BODY_MS} ms: body runs ${processes.executions}, all resolved in ${processes.wallMs.toFixed(1)} ms`,
  );

  reportMetric('cache', 'cache_hit_local', 'ns', overhead('cache_hit_local'), {
    cache_manager_memory: overhead('cache_manager_memory'),
  });
  const us = (name: string) => overhead(name) / 1000;
  reportMetric('cache', 'cache_hit_redis', 'µs', us('cache_hit_redis'), {
    cache_manager_redis: us('cache_manager_redis'),
    redis_roundtrip: us('redis_get_direct'),
    redis_get_auto_pipelined: us('redis_get'),
  });
  reportMetric('cache', 'stampede_calls', 'calls', processes.executions, {
    cache_manager_redis: executions(cmStampede),
  });
  if (processes.executions !== 1)
    problems.push(`Keel's process stampede ran the body ${processes.executions} times, not once`);

  if (executions(keelStampede) !== 1)
    problems.push(`Keel's stampede ran the body ${each(keelStampede)} times by round, not once`);
  if (problems.length > 0) throw new Error(`cache bench: ${problems.join('; ')}`);
}

/**
 * Three replicas as separate processes (the coordination tests' cache worker: a @Cached method
 * whose body takes 50 ms), each asked for one cold key by PROCESS_CONCURRENT callers at once.
 */
async function processStampede(): Promise<{ executions: number; wallMs: number }> {
  const prefix = `${PREFIX}procs:`;
  const workers = Array.from({ length: REPLICAS }, () =>
    spawn(process.execPath, [WORKER], {
      env: { ...process.env, CACHE_REDIS_URL: REDIS, CACHE_PREFIX: prefix },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const replies = workers.map((worker) => {
    const queue: Record<string, unknown>[] = [];
    const waiting: ((message: Record<string, unknown>) => void)[] = [];
    createInterface({ input: worker.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      const next = waiting.shift();
      if (next === undefined) queue.push(message);
      else next(message);
    });
    return () =>
      new Promise<Record<string, unknown>>((resolve) => {
        const queued = queue.shift();
        if (queued === undefined) waiting.push(resolve);
        else resolve(queued);
      });
  });
  try {
    await Promise.all(replies.map((next) => next())); // ready
    const started = performance.now();
    workers.forEach((worker, i) =>
      worker.stdin.write(
        `${JSON.stringify({ cmd: 'find', id: i, sku: 'cold', count: PROCESS_CONCURRENT })}\n`,
      ),
    );
    const results = await Promise.all(replies.map((next) => next()));
    const wallMs = performance.now() - started;
    return { executions: results.reduce((sum, r) => sum + (r.loads as number), 0), wallMs };
  } finally {
    for (const worker of workers) worker.stdin.end();
    await Promise.all(
      workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))),
    );
  }
}
