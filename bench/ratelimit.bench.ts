/**
 * @keel/coordination `@RateLimit` against rate-limiter-flexible: the cost (ns) of one *allowed*
 * decision added to a no-op async provider method, in this process and fleet-wide in Redis.
 *
 * Subjects: the undecorated method (baseline); `@RateLimit` with `scope: 'process'`;
 * rate-limiter-flexible's `RateLimiterMemory.consume()` then the method; `@RateLimit` with
 * `scope: 'fleet'` against the Redis of REDIS_URL (default redis://127.0.0.1:6379);
 * `RateLimiterRedis.consume()` on an ioredis client then the method; a bare `PING` on an ioredis
 * client, the floor of any fleet decision (one round trip). The peers' and the floor's clients are
 * configured as Keel's connection factory configures its own (auto-pipelined, 2 retries per
 * command); `redis_roundtrip_direct`, a `PING` on ioredis' defaults (no auto-pipelining), shows
 * what the auto-pipeline itself costs a sequential caller.
 *
 * Every limit is far above the call rate (10⁹ per second, and `burst` 10⁹: GCRA spaces calls at
 * least 1 µs apart, which a local decision beats), so nothing is refused and a refusal fails the
 * run. Time: every subject runs sequential awaited calls per round (`RATELIMIT_BENCH_CALLS` for
 * the in-process ones, `RATELIMIT_BENCH_FLEET_CALLS` for the Redis ones), subjects interleaved and
 * rotated each round; the overhead is the median over rounds of (subject − baseline). Counts: the
 * Redis commands per call of each Redis subject from `INFO commandstats` read around each of its
 * batches (every command but INFO, including those a script runs inside Redis), median of rounds.
 */
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis, type RedisOptions } from 'ioredis';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { CoordinationModule, RateLimit, RateLimitHealthIndicator } from '@keel/coordination';
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
const ROUNDS = Number(process.env.RATELIMIT_BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.RATELIMIT_BENCH_CALLS ?? 100_000);
const FLEET_CALLS = Number(process.env.RATELIMIT_BENCH_FLEET_CALLS ?? 5_000);
const PREFIX = `keel-bench-${process.pid}:`;
const LIMIT = 1_000_000_000;
const KEY = 'bench';

/** As `RedisConnectionFactory` makes Keel's own connections (libs/core/src/redis). */
const KEEL_CLIENT_OPTIONS: RedisOptions = { enableAutoPipelining: true, maxRetriesPerRequest: 2 };

@Injectable()
class Target {
  async plain(): Promise<number> {
    return 1;
  }

  @RateLimit({ name: 'bench-local', limit: LIMIT, perMs: 1_000, burst: LIMIT })
  async local(): Promise<number> {
    return 1;
  }

  @RateLimit({ name: 'bench-fleet', limit: LIMIT, perMs: 1_000, burst: LIMIT, scope: 'fleet' })
  async fleet(): Promise<number> {
    return 1;
  }
}

@Module({
  imports: [
    KeelCoreModule.forRoot({
      config: loadKeelConfig({ env: {} }),
      serviceName: 'bench',
      redis: REDIS,
      redisKeyPrefix: PREFIX,
    }),
    CoordinationModule.forRoot({}),
  ],
  providers: [Target],
})
class BenchModule {}

interface Subject {
  readonly call: () => Promise<unknown>;
  /** Talks to Redis: fewer calls per round, and its commands are counted. */
  readonly redis: boolean;
}

interface Subjects {
  readonly subjects: Record<string, Subject>;
  /** False when the fleet limit decides on its insurance limit (Redis unreachable). */
  fleetAvailable(): Promise<boolean>;
  /** Calls of each command name so far (INFO commandstats), INFO itself left out. */
  commandStats(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

async function setUp(): Promise<Subjects> {
  const app: INestApplicationContext = await NestFactory.createApplicationContext(BenchModule, {
    logger: false,
  });
  await app.init();
  const target = app.get(Target);
  const health = app.get(RateLimitHealthIndicator);
  const noop = () => target.plain();

  // @nestjs/throttler's default storage (what a ThrottlerGuard counts in, per request).
  const throttler = new ThrottlerStorageService();
  const memory = new RateLimiterMemory({ points: LIMIT, duration: 1, keyPrefix: 'bench-rlf' });
  // rate-limiter-flexible defines its script on ioredis (`defineCommand`, run by EVALSHA); its
  // node-redis path (`useRedisPackage`) is off for an ioredis client.
  const rlfClient = new Redis(REDIS, KEEL_CLIENT_OPTIONS);
  const rlfRedis = new RateLimiterRedis({
    storeClient: rlfClient,
    points: LIMIT,
    duration: 1,
    keyPrefix: `${PREFIX}rlf`,
  });
  const pingClient = new Redis(REDIS, KEEL_CLIENT_OPTIONS);
  const directClient = new Redis(REDIS, { maxRetriesPerRequest: 2 });
  const admin = new Redis(REDIS, { maxRetriesPerRequest: 2 });
  const clients = [rlfClient, pingClient, directClient, admin];
  await Promise.all(clients.map((c) => c.ping()));

  return {
    subjects: {
      baseline: { call: noop, redis: false },
      ratelimit_local: { call: () => target.local(), redis: false },
      rate_limiter_flexible_memory: {
        call: async () => {
          await memory.consume(KEY);
          return noop();
        },
        redis: false,
      },
      throttler_storage_memory: {
        call: async () => {
          await throttler.increment(KEY, 1_000, LIMIT, 0, 'default');
          return noop();
        },
        redis: false,
      },
      ratelimit_fleet: { call: () => target.fleet(), redis: true },
      rate_limiter_flexible_redis: {
        call: async () => {
          await rlfRedis.consume(KEY);
          return noop();
        },
        redis: true,
      },
      redis_roundtrip: { call: () => pingClient.ping(), redis: true },
      redis_roundtrip_direct: { call: () => directClient.ping(), redis: true },
    },
    async fleetAvailable() {
      const report = await health.check();
      const limits = (report.details as { limits: Record<string, { available: boolean }> }).limits;
      return limits['bench-fleet']?.available === true;
    },
    async commandStats() {
      const info = await admin.info('commandstats');
      const stats = new Map<string, number>();
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] !== 'info') stats.set(match[1], Number(match[2]));
      }
      return stats;
    },
    async close() {
      throttler.onApplicationShutdown();
      await app.close();
      await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    },
  };
}

/** The suite's entry point (`npm run bench -- ratelimit`). */
export async function run(): Promise<void> {
  const setup = await setUp();
  const { subjects } = setup;
  const names = Object.keys(subjects);
  const callsOf = (name: string) => (subjects[name].redis ? FLEET_CALLS : CALLS);
  // Warm-up: JIT, connections, the scripts loaded into Redis.
  for (const name of names) await timeCalls(subjects[name].call, Math.min(20_000, callsOf(name)));
  if (!(await setup.fleetAvailable())) {
    console.log(`warning: Redis at ${REDIS} unreachable; ratelimit_fleet measures the insurance`);
  }
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const commands: Record<string, Map<string, number>[]> = Object.fromEntries(
    names.map((n) => [n, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of rotate(names, round)) {
      const { call, redis } = subjects[name];
      const before = redis ? await setup.commandStats() : undefined;
      perRound[name].push((await timeCalls(call, callsOf(name))).ns);
      if (before !== undefined)
        commands[name].push(commandsPerCall(before, await setup.commandStats(), callsOf(name)));
    }
  }
  const fleetStayed = await setup.fleetAvailable();
  await setup.close();
  if (!fleetStayed) console.log('warning: ratelimit_fleet fell back to its insurance limit');

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
  const rlf = `rate-limiter-flexible ${version('rate-limiter-flexible')}`;
  const label: Record<string, string> = {
    baseline: 'no limit (baseline)',
    ratelimit_local: "Keel @RateLimit, scope 'process'",
    rate_limiter_flexible_memory: `${rlf} RateLimiterMemory`,
    throttler_storage_memory: `@nestjs/throttler ${version('@nestjs/throttler')} storage increment()`,
    ratelimit_fleet: "Keel @RateLimit, scope 'fleet' (Redis)",
    rate_limiter_flexible_redis: `${rlf} RateLimiterRedis`,
    redis_roundtrip: `PING, ioredis ${version('ioredis')} as Keel's`,
    redis_roundtrip_direct: 'PING, ioredis defaults (no auto-pipeline)',
  };
  printTable(
    `ratelimit: allowed decisions on a no-op async provider method, ${ROUNDS} interleaved rounds × ${CALLS.toLocaleString('en-US')} calls (Redis subjects ${FLEET_CALLS.toLocaleString('en-US')}), medians`,
    ['ns/call', 'overhead ns', 'redis cmds/call'],
    names.map(
      (n) =>
        [
          label[n],
          median(perRound[n]),
          n === 'baseline' ? 0 : overhead(n),
          subjects[n].redis ? commandsOf(n).total : '—',
        ] as const,
    ),
  );
  console.log(
    '\nredis_commands_per_call (INFO commandstats; scripts count the commands they run):',
  );
  for (const n of names.filter((name) => subjects[name].redis))
    console.log(`  ${n}: ${commandsOf(n).breakdown}`);

  reportMetric('ratelimit', 'ratelimit_local', 'ns', overhead('ratelimit_local'), {
    rate_limiter_flexible_memory: overhead('rate_limiter_flexible_memory'),
    throttler_storage_memory: overhead('throttler_storage_memory'),
  });
  const us = (name: string) => overhead(name) / 1000;
  reportMetric('ratelimit', 'ratelimit_fleet', 'µs', us('ratelimit_fleet'), {
    rate_limiter_flexible_redis: us('rate_limiter_flexible_redis'),
    redis_roundtrip: us('redis_roundtrip'),
  });
}
