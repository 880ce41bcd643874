// Private servers for fault tests: each test owns its server on a spare loopback port, so it can
// stop, kill and restart it without disturbing the shared services or other workers.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';

import {
  brokerArgs,
  ensureBrokerBinary,
  hasCommand,
  parseBootstrapLine,
} from '../../scripts/lib/kafka-broker.mjs';
import { freePort as findFreePort, redisPing } from '../../scripts/lib/probe.mjs';
import { waitFor } from './wait-for.js';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort when a test forgets stop(): no orphan servers outlive the Jest worker. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const proc of live) proc.kill('SIGKILL');
    });
  }
}

/**
 * A worker killed by a signal (Jest timeout, Ctrl-C) never runs exit hooks, and redis-server does
 * not notice its parent dying. This watcher holds the read end of a pipe from us and kills the
 * server when the pipe closes, i.e. when this process is gone, however it ended.
 */
function watchForOrphan(child: ChildProcess): ChildProcess {
  const watcher = spawn(
    'sh',
    ['-c', 'cat >/dev/null; kill -9 "$0" 2>/dev/null', String(child.pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watcher.unref();
  (watcher.stdin as Socket | null)?.unref();
  watcher.stdin?.on('error', () => undefined);
  child.once('exit', () => watcher.kill('SIGKILL'));
  return watcher;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitForExit(child: ChildProcess, signal: NodeJS.Signals, timeoutMs = 5000) {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await done;
  clearTimeout(timer);
}

/** Keeps the tail of a process's output for error messages. */
function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output.trim();
}

/** A loopback TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return findFreePort();
}

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** @default a free port */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '1mb']`. */
  args?: string[];
}

/** A private `redis-server` owned by one test. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly running: boolean;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGTERM, then waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), then waits for the process to exit. Idempotent. */
  kill(): Promise<void>;
}

/**
 * Starts a dedicated `redis-server` on a spare loopback port (no persistence) and resolves once it
 * answers PING.
 *
 * @example
 * const redis = await startRedisServer();
 * await redis.stop(); // outage
 * await redis.start(); // same port again
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  if (!hasCommand('redis-server')) {
    throw new Error('redis-server is not installed (Debian: apt-get install -y redis-server)');
  }
  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--dir', tmpdir(),
        ...(options.args ?? []),
      ], // prettier-ignore
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(proc);
    watchForOrphan(proc);
    const output = captureOutput(proc);
    child = proc;
    const url = `redis://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          if (exited(proc)) throw new Error(`redis-server exited: ${output()}`);
          await redisPing(url, 500);
          return true;
        },
        { timeoutMs: 10_000, message: `redis-server on ${url}` },
      );
    } catch (err) {
      await waitForExit(proc, 'SIGKILL');
      throw err;
    }
  };

  try {
    await launch();
  } catch (err) {
    // The free port can be taken between the probe and redis' bind; pick another once.
    if (options.port !== undefined || !/already in use/i.test(String(err))) throw err;
    port = await freePort();
    await launch();
  }

  return {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get running() {
      return child !== undefined && !exited(child);
    },
    async start() {
      if (child && !exited(child)) return;
      await launch();
    },
    async stop() {
      if (child) await waitForExit(child, 'SIGTERM');
    },
    async kill() {
      if (child) await waitForExit(child, 'SIGKILL');
    },
  };
}

/** Options for {@link startKafkaBroker}. */
export interface KafkaBrokerOptions {
  /** Topics to pre-create, name to partition count. Others auto-create with 4 partitions. */
  topics?: Record<string, number>;
  /** Number of brokers (ids 1..n). @default 1 */
  brokers?: number;
}

/** A private Kafka test broker (scripts/kafka-mock-broker.c) owned by one test. */
export interface KafkaBrokerHandle {
  /** Bootstrap list for kafkajs, e.g. `['127.0.0.1:40123']`. */
  readonly brokers: string[];
  /**
   * Sends one control command and resolves with the text after `OK` (rejects on `ERR`), e.g.
   * `down 1`, `up 1`, `rtt 1 200`, `leader <topic> <partition> <brokerId>`,
   * `errors <apiKey> <count> <code|NAME>...`, `clear <apiKey>`, `topic <name> <partitions>`.
   */
  command(line: string): Promise<string>;
  /** Closes the control channel (the broker exits) and waits for the process to end. */
  stop(): Promise<void>;
}

/**
 * Starts a private instance of the Kafka test broker with stdin control, building the binary
 * first if needed (same build as `scripts/test-services.mjs`).
 *
 * @example
 * const kafka = await startKafkaBroker({ topics: { orders: 1 } });
 * await kafka.command('down 1');
 */
export async function startKafkaBroker(
  options: KafkaBrokerOptions = {},
): Promise<KafkaBrokerHandle> {
  const binary = await ensureBrokerBinary();
  const child = spawn(
    binary,
    brokerArgs({ brokers: options.brokers ?? 1, topics: options.topics }),
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  track(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const pending: Array<(line: string | undefined) => void> = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => pending.shift()?.(line));
  child.once('exit', () => {
    for (const resolve of pending.splice(0)) resolve(undefined);
  });
  const nextLine = () => new Promise<string | undefined>((resolve) => pending.push(resolve));

  const first = await Promise.race([
    nextLine(),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000).unref()),
  ]);
  const brokers = first === undefined ? undefined : parseBootstrapLine(first);
  if (!brokers) {
    await waitForExit(child, 'SIGKILL');
    throw new Error(`Kafka test broker did not start: ${first ?? ''} ${stderr.trim()}`);
  }

  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<string> => {
    const run = async () => {
      if (exited(child) || !child.stdin?.writable) {
        throw new Error(`Kafka test broker is not running (command: ${line})`);
      }
      const reply = nextLine();
      child.stdin.write(`${line}\n`);
      const answer = await reply;
      if (answer === undefined) throw new Error(`Kafka test broker exited during: ${line}`);
      if (answer === 'OK' || answer.startsWith('OK ')) return answer.slice(3);
      throw new Error(`Kafka test broker rejected "${line}": ${answer}`);
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    brokers,
    command,
    async stop() {
      if (exited(child)) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
      lines.close();
    },
  };
}
