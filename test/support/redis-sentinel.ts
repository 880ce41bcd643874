import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServerHandle } from './fault-servers.js';
import { waitFor } from './wait-for.js';

/** A private Redis master watched by one Sentinel, both on spare loopback ports. */
export interface RedisSentinelHandle {
  /** The master group name the Sentinel monitors. */
  readonly name: string;
  readonly sentinels: readonly { host: string; port: number }[];
  readonly master: RedisServerHandle;
  stop(): Promise<void>;
}

/**
 * Starts a Redis master and a Sentinel (`redis-server --sentinel`) monitoring it, and resolves
 * once the Sentinel answers for the master, so tests can connect the way production Sentinel
 * deployments do.
 */
export async function startRedisSentinel(name = 'keelmaster'): Promise<RedisSentinelHandle> {
  const master = await startRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keel-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it must be a writable file of its own.
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
      '',
    ].join('\n'),
  );
  const sentinel: ChildProcess = spawn('redis-server', [config, '--sentinel'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  try {
    await waitFor(
      async () => {
        if (sentinel.exitCode !== null) throw new Error('sentinel exited');
        const addr = (await probe.call('SENTINEL', 'get-master-addr-by-name', name)) as string[];
        return addr?.[1] === String(master.port);
      },
      { timeoutMs: 15_000, message: `sentinel on ${port} to report ${name}` },
    );
  } catch (error) {
    sentinel.kill('SIGKILL');
    await master.kill();
    throw error;
  } finally {
    probe.disconnect();
  }
  return {
    name,
    sentinels: [{ host: '127.0.0.1', port }],
    master,
    async stop() {
      if (sentinel.exitCode === null && sentinel.signalCode === null) {
        const exited = new Promise((resolve) => sentinel.once('exit', resolve));
        sentinel.kill('SIGKILL');
        await exited;
      }
      await master.kill();
    },
  };
}
