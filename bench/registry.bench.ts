/**
 * @keel/registry: `choose()` from the local cache vs a Redis round trip per lookup; propagation
 * from a registration to 10 watcher processes; dead-instance removal after SIGKILL; full resync
 * of 1 000 instances across 50 services (time and heap). Needs the shared Redis (REDIS_URL,
 * default redis://127.0.0.1:6379) and the compiled fixture dist/libs/registry/test/fixtures.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  RecordCodec,
  RegistryModule,
  RegistryStore,
  ServiceDiscovery,
  type InstanceIdentity,
} from '@keel/registry';
import { median, percentile, printTable, reportMetric } from './report.js';

const REDIS = process.env.REDIS_URL ?? process.env.KEEL_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FIXTURE = fileURLToPath(
  new URL('../libs/registry/test/fixtures/instance.js', import.meta.url),
);
const codec = new RecordCodec(undefined);

function identity(service: string, id: string, port: number): InstanceIdentity {
  return {
    id,
    service,
    address: { host: '127.0.0.1', port },
    version: '1.0.0',
    tags: ['bench'],
    metadata: { pool: 'bench' },
    weight: 1,
    checks: [],
  };
}

async function bootDiscovery(prefix: string, discover: string[]): Promise<INestApplicationContext> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'bench',
        redis: REDIS,
        redisKeyPrefix: prefix,
        config: loadKeelConfig({ env: {} }),
      }),
      RegistryModule.forRoot({ discover, resyncMs: 3_600_000 }),
    ],
  })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

async function register(
  store: RegistryStore,
  service: string,
  id: string,
  port: number,
  ttlMs = 600_000,
) {
  const json = codec.encode(identity(service, id, port), {
    draining: false,
    health: 'passing',
    self: 'passing',
  });
  const outcome = await store.register(service, id, json, ttlMs, '');
  if (outcome !== 'ok') throw new Error(`register ${service}/${id}: ${outcome}`);
}

/** choose() from the cache vs one Redis round trip (snapshot + parse + pick) per lookup. */
async function chooseCost(prefix: string): Promise<{ keel: number; redis: number }> {
  const app = await bootDiscovery(prefix, ['choose-svc']);
  const store = app.get<RegistryStore>(RegistryStore);
  for (let i = 0; i < 10; i++) await register(store, 'choose-svc', `c${i}`, 10_000 + i);
  const discovery = app.get(ServiceDiscovery);
  await discovery.refresh('choose-svc');
  const cacheCalls = 2_000_000;
  const redisCalls = 2_000;
  const keel: number[] = [];
  const redis: number[] = [];
  let sink = 0;
  for (let round = 0; round < 8; round++) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < cacheCalls; i++) sink += discovery.choose('choose-svc').address.port;
    const k = Number(process.hrtime.bigint() - start) / cacheCalls;
    start = process.hrtime.bigint();
    for (let i = 0; i < redisCalls; i++) {
      const snap = await store.snapshot('choose-svc');
      const raw = snap.records[i % snap.records.length];
      sink += (JSON.parse(raw.json) as { registeredAt: number }).registeredAt > 0 ? 1 : 0;
    }
    const r = Number(process.hrtime.bigint() - start) / redisCalls;
    if (round === 0) continue; // warm-up
    keel.push(k);
    redis.push(r);
  }
  if (sink === 0) console.log('');
  await app.close();
  return { keel: median(keel), redis: median(redis) };
}

interface Child {
  readonly proc: ChildProcess;
  readonly messages: Record<string, unknown>[];
  waitFor(
    predicate: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

function startChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, NODE_OPTIONS: '', REGISTRY_REDIS_URL: REDIS, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<{
    p: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    messages.push(message);
    for (const w of [...waiters]) {
      if (w.p(message)) {
        waiters.delete(w);
        w.resolve(message);
      }
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    messages,
    waitFor(p, timeoutMs = 30_000) {
      const found = messages.find(p);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { p, resolve: (m: Record<string, unknown>) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error('bench fixture: timed out'));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

const hasId = (id: string) => (m: Record<string, unknown>) =>
  m.type === 'view' && (m.instances as { id: string }[]).some((i) => i.id === id);
const lacksId = (id: string, since: number) => (m: Record<string, unknown>) =>
  m.type === 'view' &&
  (m.at as number) >= since &&
  !(m.instances as { id: string }[]).some((i) => i.id === id);

/** Registration in this process → visible in 10 watcher processes; then SIGKILL removal. */
async function propagationAndRemoval(
  prefix: string,
): Promise<{ samples: number[]; removal: number[]; ttlMs: number }> {
  const watchers = Array.from({ length: 10 }, () =>
    startChild({ PREFIX: prefix, SERVICE: '', DISCOVER: 'prop-svc', RESYNC_MS: '5000' }),
  );
  const ttlMs = 2_000;
  try {
    await Promise.all(watchers.map((w) => w.waitFor((m) => m.type === 'ready')));
    const app = await bootDiscovery(prefix, []);
    const store = app.get<RegistryStore>(RegistryStore);
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `p${i}`;
      const start = Date.now();
      await register(store, 'prop-svc', id, 20_000 + i);
      const seen = await Promise.all(watchers.map((w) => w.waitFor(hasId(id))));
      if (i >= 5) for (const m of seen) samples.push((m.at as number) - start);
      await store.deregister('prop-svc', id, '');
      await Promise.all(watchers.map((w) => w.waitFor(lacksId(id, start))));
    }
    await app.close();

    // Dead-instance removal: a real instance process, SIGKILLed.
    const removal: number[] = [];
    for (let round = 0; round < 3; round++) {
      const id = `dead${round}`;
      const victim = startChild({
        PREFIX: prefix,
        SERVICE: 'prop-svc',
        INSTANCE_ID: id,
        TTL_MS: String(ttlMs),
        HEARTBEAT_MS: String(ttlMs / 4),
      });
      await victim.waitFor((m) => m.type === 'ready');
      await Promise.all(watchers.map((w) => w.waitFor(hasId(id))));
      // Let a few heartbeats pass so the kill lands at a random point of the heartbeat cycle.
      await new Promise((resolve) => setTimeout(resolve, 1_200 + Math.random() * 500));
      const killedAt = Date.now();
      await victim.stop();
      const gone = await Promise.all(
        watchers.map((w) => w.waitFor(lacksId(id, killedAt), ttlMs * 10)),
      );
      removal.push(Math.max(...gone.map((m) => (m.at as number) - killedAt)));
    }
    return { samples, removal, ttlMs };
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
  }
}

/** A forced GC makes the heap figure mean something; best effort where V8 refuses. */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Full resync of 1 000 instances across 50 services into a fresh cache. */
async function resync(prefix: string): Promise<{ ms: number[]; heapKb: number }> {
  const services = Array.from({ length: 50 }, (_, s) => `resync-${s}`);
  const writer = await bootDiscovery(prefix, []);
  const store = writer.get<RegistryStore>(RegistryStore);
  await Promise.all(
    services.flatMap((service, s) =>
      Array.from({ length: 20 }, (_, i) =>
        register(store, service, `${service}-i${i}`, 30_000 + s * 20 + i),
      ),
    ),
  );
  const ms: number[] = [];
  const heap: number[] = [];
  const gc = exposeGc();
  for (let round = 0; round < 6; round++) {
    gc?.();
    const before = process.memoryUsage().heapUsed;
    // A fresh application each round: nothing cached, connections warm after the first call.
    const app = await bootDiscovery(prefix, []);
    const discovery = app.get(ServiceDiscovery);
    await discovery.refresh('warm-up');
    const start = process.hrtime.bigint();
    await Promise.all(services.map((s) => discovery.refresh(s)));
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    const total = services.reduce((n, s) => n + discovery.instances(s).length, 0);
    if (total !== 1_000) throw new Error(`resync loaded ${total} instances, expected 1000`);
    gc?.();
    const after = process.memoryUsage().heapUsed;
    await app.close();
    if (round === 0) continue;
    ms.push(elapsed);
    heap.push((after - before) / 1024);
  }
  await writer.close();
  return { ms, heapKb: median(heap) };
}

export async function run(): Promise<void> {
  const prefix = `keel-bench-registry-${randomBytes(3).toString('hex')}:`;
  const choose = await chooseCost(prefix);
  const { samples, removal, ttlMs } = await propagationAndRemoval(prefix);
  const { ms, heapKb } = await resync(prefix);

  printTable(
    'choose(): local cache vs a Redis round trip per lookup (median of 7 rounds)',
    ['ns/lookup'],
    [
      ['keel choose() from cache (10 instances, round-robin)', choose.keel],
      ['redis round trip per lookup (snapshot + parse)', choose.redis],
    ],
  );
  printTable(
    `propagation: register → visible in 10 watcher processes (${samples.length} samples)`,
    ['p50 ms', 'p99 ms', 'max ms'],
    [
      [
        'keel (pub/sub push)',
        percentile(samples, 50),
        percentile(samples, 99),
        Math.max(...samples),
      ],
    ],
  );
  printTable(
    `dead-instance removal: SIGKILL → absent in all 10 watchers (ttl ${ttlMs} ms, 3 kills)`,
    ['median ms', 'max ms', 'ttl ms'],
    [['keel', median(removal), Math.max(...removal), ttlMs]],
  );
  printTable(
    'full resync: 1 000 instances across 50 services into an empty cache (median of 5)',
    ['ms', 'heap KiB'],
    [['keel', median(ms), heapKb]],
  );
  reportMetric('registry', 'choose', 'ns', choose.keel, { redis_roundtrip: choose.redis });
  reportMetric('registry', 'propagation_p99', 'ms', percentile(samples, 99), {});
  reportMetric('registry', 'dead_removal', 'ms', Math.max(...removal), { ttl: ttlMs });
  reportMetric('registry', 'resync_1000', 'ms', median(ms), {});
}
