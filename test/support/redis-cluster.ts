import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServerHandle } from './fault-servers.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

/** A private three-master Redis Cluster on spare loopback ports. */
export interface RedisClusterHandle {
  readonly nodes: readonly { host: string; port: number }[];
  readonly servers: readonly RedisServerHandle[];
  stop(): Promise<void>;
}

/**
 * Starts three `redis-server`s in cluster mode and joins them into one cluster (all 16384
 * slots assigned), so tests can prove that Keel's keys and Lua scripts are Cluster-safe.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cluster-'));
  const servers: RedisServerHandle[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      servers.push(
        await startRedisServer({
          port,
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '2000',
          ], // prettier-ignore
        }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], {
      timeout: 30_000,
    });
    const probe = new Redis(servers[0].port, '127.0.0.1', { lazyConnect: true });
    try {
      await waitFor(async () => /cluster_state:ok/.test(await probe.cluster('INFO')), {
        timeoutMs: 20_000,
        message: 'cluster_state:ok',
      });
    } finally {
      probe.disconnect();
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.kill()));
    throw error;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.kill()));
    },
  };
}
