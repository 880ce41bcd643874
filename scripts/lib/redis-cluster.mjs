// A throwaway Redis Cluster on spare loopback ports, for tests. Node built-ins and the
// redis-server / redis-cli binaries only, so Jest's globalSetup can load it as it is (Jest does
// not transpile what a global setup module imports).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort, pollUntil, redisPing } from './probe.mjs';

const run = promisify(execFile);

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * A redis-server does not notice its parent dying (a Jest run killed by a signal runs no exit
 * hook): this watcher holds the read end of a pipe from us and kills the server when the pipe
 * closes, i.e. when this process is gone, however it ended.
 */
function watchForOrphan(child) {
  if (child.pid === undefined) return; // it never started
  const watcher = spawn(
    'sh',
    ['-c', 'cat >/dev/null; kill -9 "$0" 2>/dev/null', String(child.pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watcher.unref();
  watcher.stdin.unref?.();
  watcher.stdin.on('error', () => undefined);
  child.once('exit', () => watcher.kill('SIGKILL'));
}

async function kill(child) {
  if (exited(child)) return;
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await done;
}

/** One cluster-mode redis-server on a free port, answering PING. */
async function launch(dir) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '2000',
      ], // prettier-ignore
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let spawnError;
    // No redis-server on PATH: report it instead of crashing the process on an unhandled 'error'.
    child.once('error', (error) => (spawnError = error));
    watchForOrphan(child);
    let output = '';
    const append = (chunk) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    try {
      // A hang guard, not a goal: on a loaded 2-core machine a node once took over 10 s to answer.
      await pollUntil(
        async () => {
          if (spawnError) throw new Error(`cannot start redis-server: ${spawnError.message}`);
          if (exited(child)) throw new Error(`redis-server exited: ${output.trim()}`);
          await redisPing(`redis://127.0.0.1:${port}`, 500);
          return true;
        },
        { timeoutMs: 30_000, message: `cluster node on port ${port}` },
      );
      return { port, child };
    } catch (error) {
      await kill(child);
      // The free port can be taken between the probe and redis' bind; pick another once.
      if (attempt > 1 || !/already in use/i.test(String(error))) throw error;
    }
  }
}

/**
 * Starts `masters` redis-servers in cluster mode and joins them into one cluster (all 16384
 * slots assigned), resolving once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster({ masters = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cluster-'));
  const servers = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => kill(s.child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) servers.push(await launch(dir));
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], {
      timeout: 30_000,
    });
    for (const { port } of servers) {
      await pollUntil(
        async () =>
          /cluster_state:ok/.test(
            (await run('redis-cli', ['-p', String(port), 'cluster', 'info'], { timeout: 5_000 }))
              .stdout,
          ),
        { timeoutMs: 60_000, message: `cluster_state:ok on port ${port}` },
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), stop };
}

/**
 * Starts the one Redis Cluster that every cluster suite of a Jest run shares, without waiting
 * for it: building a cluster takes seconds, which the suites that run first spend on their own
 * work. Once the cluster is up (or has failed), `file` holds `{ nodes }` (or `{ error }`); it is
 * written whole and then renamed, so a reader never sees half of it.
 *
 * @returns `stop`: waits for the start to settle, then kills the servers and removes `file`.
 */
export function startSharedRedisCluster(file) {
  const publish = (state) => {
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  };
  const starting = startRedisCluster().then(
    (cluster) => {
      publish({ nodes: cluster.nodes });
      return cluster;
    },
    (error) => {
      publish({ error: error instanceof Error ? error.message : String(error) });
      return undefined;
    },
  );
  return {
    async stop() {
      await (await starting)?.stop();
      rmSync(file, { force: true });
    },
  };
}
