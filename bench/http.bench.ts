/**
 * What importing Keel costs an HTTP route: requests per second of the same route
 * (`GET /hello` → `{"ok":true}`, an async handler) served by plain Nest 12 (Express), Nest with an
 * empty AsyncLocalStorage `run()` per request (the floor of any ALS context), Nest + Keel core with
 * the request context off, on, and on with its interceptor (what a hybrid app has), Nest +
 * nestjs-cls 6 set up to do what Keel's context does, and Keel core + coordination with
 * `@Timed @Retry @CircuitBreaker @Timeout @Bulkhead` on the route.
 *
 * Method: each server runs in its own process (its own heap, GC and JIT), all started at once;
 * the load generator is autocannon in this process, with the same connections, pipelining (1),
 * duration and warm-up for every server. After one warm-up per server, every round measures
 * every server once, forwards on even rounds and backwards on odd ones, in an order that keeps
 * the two servers of each goal next to each other in time; medians over rounds. Beside req/s the
 * table gives the server's CPU time per request (the scheduler's accounting of all its threads),
 * which neighbours on a shared machine disturb less than throughput, and the async resources a
 * request creates (counted afterwards in servers of their own), which they do not disturb at
 * all. Placement: servers and load generator are left to the OS scheduler, the same for every
 * server; HTTP_BENCH_PIN=1 pins the servers to CPU 1 and the load generator to CPU 0 instead.
 *
 * Knobs: HTTP_BENCH_ROUNDS (12), HTTP_BENCH_DURATION seconds per measurement (2),
 * HTTP_BENCH_WARMUP seconds per server before the rounds (3), HTTP_BENCH_CONNECTIONS (10),
 * HTTP_BENCH_SUBJECTS (comma-separated subset), HTTP_BENCH_VERBOSE=1 (every measurement),
 * HTTP_BENCH_PROFILE (a directory: the servers run with `--cpu-prof` and write
 * `<subject>.cpuprofile` there on exit), HTTP_BENCH_COMPARE (see {@link targets}).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { version, median, printTable, reportMetric } from './report.js';

/** In measuring order: each pair a goal compares is adjacent, so both see the same neighbours. */
const SUBJECTS = [
  'nest',
  'keel_off',
  'nest_empty_als',
  'keel_on_interceptor',
  'nestjs_cls',
  'keel_on',
  'full_stack',
] as const;
type Subject = (typeof SUBJECTS)[number];

const env = process.env;
const ROUNDS = Number(env.HTTP_BENCH_ROUNDS ?? 12);
const DURATION_S = Number(env.HTTP_BENCH_DURATION ?? 2);
const WARMUP_S = Number(env.HTTP_BENCH_WARMUP ?? 3);
/** Before each measurement, so a server that sat idle during the others' turns wakes up first. */
const ROUND_WARMUP_S = Number(env.HTTP_BENCH_ROUND_WARMUP ?? 0.5);
const CONNECTIONS = Number(env.HTTP_BENCH_CONNECTIONS ?? 10);
const PROFILE_DIR = env.HTTP_BENCH_PROFILE;
const VERBOSE = env.HTTP_BENCH_VERBOSE === '1';
const SELECTED: readonly Subject[] =
  env.HTTP_BENCH_SUBJECTS === undefined
    ? SUBJECTS
    : SUBJECTS.filter((s) => env.HTTP_BENCH_SUBJECTS?.split(',').includes(s));
const SERVER_FILE = fileURLToPath(new URL('./http-server.js', import.meta.url));

/** Whether each server must echo `x-correlation-id` (its context is on), checked before timing. */
const ECHOES_CORRELATION_ID: Record<Subject, boolean> = {
  nest: false,
  nest_empty_als: false,
  keel_off: false,
  keel_on: true,
  keel_on_interceptor: true,
  nestjs_cls: true,
  full_stack: true,
};

/** A server to measure: a subject served by this build, or by another one (HTTP_BENCH_COMPARE). */
interface Target {
  /** Row name: the subject, or `<subject>@compare`. */
  readonly name: string;
  readonly subject: Subject;
  readonly file: string;
}

interface Server extends Target {
  readonly url: string;
  readonly child: ChildProcess;
  /** The next line the server prints on stdout. */
  readonly nextLine: () => Promise<string>;
}

interface Sample {
  readonly rps: number;
  /** Server CPU time (user + system, all threads) per request, µs; NaN where unreadable. */
  readonly cpuUs: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * HTTP_BENCH_COMPARE=<other build's bench/http-server.js>[:subject,...] also measures those
 * subjects (default keel_on) as served by another build, in the same run: how each step of a
 * change is measured.
 */
function targets(): Target[] {
  const own = SELECTED.map((subject) => ({ name: subject, subject, file: SERVER_FILE }));
  const compare = env.HTTP_BENCH_COMPARE;
  if (compare === undefined) return own;
  const [file, list = 'keel_on'] = compare.split(':');
  const subjects = list.split(',').filter((s): s is Subject => SUBJECTS.includes(s as Subject));
  return [...own, ...subjects.map((subject) => ({ name: `${subject}@compare`, subject, file }))];
}

function pinning(): { server: string; load: string } | undefined {
  if (env.HTTP_BENCH_PIN !== '1' || cpus().length < 2) return undefined;
  const probe = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  return probe.status === 0 ? { server: '1', load: '0' } : undefined;
}

interface StartOptions {
  /** Pin the server to this CPU (taskset). */
  readonly cpu?: string;
  /** Start it in counting mode (`--count-async`): for {@link countAsyncResources}, never timed. */
  readonly countAsync?: boolean;
}

function startServer(target: Target, options: StartOptions = {}): Promise<Server> {
  const profile =
    PROFILE_DIR === undefined || options.countAsync
      ? []
      : [
          '--cpu-prof',
          `--cpu-prof-dir=${PROFILE_DIR}`,
          `--cpu-prof-name=${target.name}.cpuprofile`,
        ];
  const nodeArgs = [
    ...profile,
    target.file,
    target.subject,
    ...(options.countAsync ? ['--count-async'] : []),
  ];
  const stdio: ['pipe', 'pipe', 'inherit'] = ['pipe', 'pipe', 'inherit'];
  const child =
    options.cpu === undefined
      ? spawn(process.execPath, nodeArgs, { stdio, env: childEnv() })
      : spawn('taskset', ['-c', options.cpu, process.execPath, ...nodeArgs], {
          stdio,
          env: childEnv(),
        });
  const lines = createInterface({ input: child.stdout as Readable });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => (waiting.length > 0 ? waiting.shift()?.(line) : queue.push(line)));
  const nextLine = () =>
    queue.length > 0
      ? Promise.resolve(queue.shift() as string)
      : new Promise<string>((resolve) => waiting.push(resolve));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${target.name} server exited (${code})`)));
    void nextLine().then((line) => {
      const { listening } = JSON.parse(line) as { listening: number };
      resolve({ ...target, url: `http://127.0.0.1:${listening}/hello`, child, nextLine });
    });
  });
}

function childEnv(): NodeJS.ProcessEnv {
  return { ...env, NODE_OPTIONS: '', NODE_ENV: 'production' };
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.removeAllListeners('exit');
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

/** Checks that the server answers what it should, so the suite never times a misconfiguration. */
async function check(server: Server): Promise<void> {
  const res = await fetch(server.url);
  const body = await res.text();
  const echoed = res.headers.get('x-correlation-id') !== null;
  if (res.status !== 200 || body !== '{"ok":true}') {
    throw new Error(`${server.name}: GET /hello answered ${res.status} ${body}`);
  }
  if (echoed !== ECHOES_CORRELATION_ID[server.subject]) {
    throw new Error(
      `${server.name}: x-correlation-id ${echoed ? 'echoed' : 'missing'}, expected the opposite`,
    );
  }
}

/**
 * CPU seconds the server has run (all its threads: the event loop, GC helpers, libuv), from the
 * scheduler's exact accounting in `/proc/<pid>/task/<tid>/schedstat` (Linux); NaN elsewhere.
 * Threads that ended between two readings drop out, which only the GC helpers ever do.
 */
function cpuSeconds(pid: number | undefined): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e9;
  } catch {
    return Number.NaN;
  }
}

async function load(server: Server, seconds: number): Promise<Sample> {
  const cpuBefore = cpuSeconds(server.child.pid);
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) {
    throw new Error(
      `${server.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
    );
  }
  return {
    rps: result.requests.total / result.duration,
    cpuUs: ((cpuSeconds(server.child.pid) - cpuBefore) * 1e6) / result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const COUNTED_REQUESTS = 5_000;

/**
 * Async resources each server creates per request, by type (`PROMISE`, `TickObject`…), counted
 * by an async hook in a server of its own started for it: a deterministic account of the work a
 * request does, and of what every one of those resources costs once any AsyncLocalStorage is
 * active (Node 20 propagates the store through an init hook on each of them).
 */
async function countAsyncResources(target: Target): Promise<Record<string, number>> {
  const server = await startServer(target, { countAsync: true });
  try {
    await autocannon({ url: server.url, connections: CONNECTIONS, amount: 1_000 });
    server.child.stdin?.write('count\n');
    await server.nextLine();
    await autocannon({ url: server.url, connections: CONNECTIONS, amount: COUNTED_REQUESTS });
    server.child.stdin?.write('count\n');
    const { counts } = JSON.parse(await server.nextLine()) as { counts: Record<string, number> };
    return Object.fromEntries(
      Object.entries(counts).map(([type, n]) => [type, n / COUNTED_REQUESTS]),
    );
  } finally {
    await stopServer(server);
  }
}

/** Forwards on even rounds, backwards on odd ones (A B … B A): pairs stay adjacent. */
function order<T>(items: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

const LABELS: Record<Subject, string> = {
  nest: `plain Nest ${version('@nestjs/core')} (express)`,
  nest_empty_als: 'Nest + empty ALS run() per request',
  keel_off: 'Nest + Keel core, context off',
  keel_on: 'Nest + Keel core, context on',
  keel_on_interceptor: 'Keel core, context on + interceptor (hybrid app)',
  nestjs_cls: `Nest + nestjs-cls ${version('nestjs-cls')}`,
  full_stack: 'Keel core + @Timed@Retry@CircuitBreaker@Timeout@Bulkhead',
};

/** Goals of issue 11: each as subject ÷ reference, at least `min`. */
const GOALS: readonly { subject: Subject; reference: Subject; min: number }[] = [
  { subject: 'keel_off', reference: 'nest', min: 0.97 },
  { subject: 'keel_on', reference: 'nestjs_cls', min: 1.0 },
  { subject: 'full_stack', reference: 'keel_on', min: 0.95 },
];

/** The suite's entry point (`npm run bench -- http`). */
export async function run(): Promise<void> {
  const pin = pinning();
  if (pin !== undefined) spawnSync('taskset', ['-cp', pin.load, String(process.pid)]);
  const servers: Server[] = [];
  try {
    for (const target of targets()) servers.push(await startServer(target, { cpu: pin?.server }));
    for (const server of servers) await check(server);
    console.log(
      `${servers.length} servers, ${CONNECTIONS} connections, ${DURATION_S} s × ${ROUNDS} rounds` +
        ` (+${WARMUP_S} s warm-up each, ${ROUND_WARMUP_S} s before every measurement)` +
        (pin === undefined
          ? ', placed by the OS scheduler'
          : `, servers on CPU ${pin.server}, load on ${pin.load}`),
    );
    const loadBefore = loadavg()[0];
    for (const server of servers) await load(server, WARMUP_S);
    const samples = new Map<string, Sample[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of order(servers, round)) {
        if (ROUND_WARMUP_S > 0) await load(server, ROUND_WARMUP_S);
        const sample = await load(server, DURATION_S);
        samples.get(server.name)?.push(sample);
        if (VERBOSE) {
          console.log(
            `round ${round} ${server.name}: ${Math.round(sample.rps)} req/s, ` +
              `${sample.cpuUs.toFixed(1)} µs CPU/req, load ${loadavg()[0].toFixed(1)}`,
          );
        }
      }
    }
    console.log(
      `machine load average (1 min): ${loadBefore.toFixed(1)} at the start, ` +
        `${loadavg()[0].toFixed(1)} at the end, on ${cpus().length} CPUs`,
    );
    const counts = new Map<string, Record<string, number>>();
    for (const target of servers) counts.set(target.name, await countAsyncResources(target));
    report(servers, samples, counts);
  } finally {
    await Promise.all(servers.map(stopServer));
  }
}

function report(
  servers: readonly Target[],
  samples: Map<string, Sample[]>,
  counts: Map<string, Record<string, number>>,
): void {
  const promises = (name: string) => counts.get(name)?.PROMISE ?? Number.NaN;
  const resources = (name: string) =>
    Object.values(counts.get(name) ?? {}).reduce((sum, n) => sum + n, 0);
  const of = (name: string) => samples.get(name) ?? [];
  const rps = (name: string) => median(of(name).map((x) => x.rps));
  const cpu = (name: string) => median(of(name).map((x) => x.cpuUs));
  const nest = samples.has('nest') ? rps('nest') : Number.NaN;
  printTable(
    `http: GET /hello, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds × ${DURATION_S} s (medians; min and max over rounds)`,
    [
      'req/s',
      'min',
      'max',
      '× nest',
      'CPU µs/req',
      'promises/req',
      'async res/req',
      'p50 ms',
      'p99 ms',
    ],
    servers.map((server) => {
      const values = of(server.name).map((x) => x.rps);
      const label = LABELS[server.subject];
      return [
        server.name === server.subject ? label : `${label} [${server.file}]`,
        rps(server.name),
        Math.min(...values),
        Math.max(...values),
        (rps(server.name) / nest).toFixed(3),
        cpu(server.name),
        promises(server.name).toFixed(1),
        resources(server.name).toFixed(1),
        median(of(server.name).map((x) => x.p50)),
        median(of(server.name).map((x) => x.p99)),
      ] as const;
    }),
  );
  const goals = GOALS.filter((g) => samples.has(g.subject) && samples.has(g.reference));
  printTable(
    'goals: req/s ratio of the medians; the same ratio round by round (median, min, max); and ' +
      'the inverse ratio of server CPU per request, which neighbours on a shared machine disturb less',
    ['ratio', 'round med', 'round min', 'round max', 'CPU ratio', 'goal', 'met'],
    goals.map((g) => {
      const ratio = rps(g.subject) / rps(g.reference);
      const reference = of(g.reference);
      const rounds = of(g.subject).map((x, i) => x.rps / (reference[i]?.rps ?? Number.NaN));
      return [
        `${g.subject} ÷ ${g.reference}`,
        ratio.toFixed(3),
        median(rounds).toFixed(3),
        Math.min(...rounds).toFixed(3),
        Math.max(...rounds).toFixed(3),
        (cpu(g.reference) / cpu(g.subject)).toFixed(3),
        `≥ ${g.min}`,
        ratio >= g.min ? 'yes' : 'NO',
      ] as const;
    }),
  );
  const peers = (entries: [string, Subject][]) =>
    Object.fromEntries(entries.filter(([, s]) => samples.has(s)).map(([k, s]) => [k, rps(s)]));
  if (samples.has('keel_off')) {
    reportMetric(
      'http',
      'http_core_context_off',
      'req/s',
      rps('keel_off'),
      peers([['nest', 'nest']]),
    );
  }
  if (samples.has('keel_on')) {
    reportMetric(
      'http',
      'http_core_context_on',
      'req/s',
      rps('keel_on'),
      peers([
        ['nest', 'nest'],
        ['nestjs_cls', 'nestjs_cls'],
      ]),
    );
  }
  if (samples.has('full_stack')) {
    reportMetric(
      'http',
      'http_full_stack',
      'req/s',
      rps('full_stack'),
      peers([['keel_core', 'keel_on']]),
    );
  }
}
