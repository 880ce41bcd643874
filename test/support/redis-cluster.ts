import { readFileSync } from 'node:fs';
import type { RedisClusterNode } from '../../scripts/lib/redis-cluster.mjs';
import { waitFor } from './wait-for.js';

export { startRedisCluster, type RedisClusterNode } from '../../scripts/lib/redis-cluster.mjs';

/**
 * The environment variable through which Jest's global setup (test/support/global-setup.mjs)
 * names the shared cluster's address file.
 */
export const SHARED_CLUSTER_ENV = 'KEEL_TEST_REDIS_CLUSTER_FILE';

type SharedClusterState =
  { readonly nodes: readonly RedisClusterNode[] } | { readonly error: string };

/**
 * The nodes of the three-master Redis Cluster that every cluster suite of this Jest run shares,
 * once it is up. Jest's global setup starts it in the background and its teardown stops it, so a
 * suite neither builds its own nor stops this one. Suites keep apart by key prefix
 * (`uniquePrefix`); none may stop, flush or reconfigure a shared node (a fault test starts a
 * private cluster with `startRedisCluster()`).
 *
 * @throws Error when this run has no shared cluster (not started through this repo's Jest
 *   configuration) or it failed to start.
 */
export async function sharedRedisCluster(): Promise<readonly RedisClusterNode[]> {
  const file = process.env[SHARED_CLUSTER_ENV];
  if (!file) {
    throw new Error(
      `${SHARED_CLUSTER_ENV} is not set: the shared Redis Cluster is started by the integration ` +
        "project's globalSetup (test/support/global-setup.mjs); run the suite with `npx jest`",
    );
  }
  const state = await waitFor(
    () => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as SharedClusterState;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    { timeoutMs: 60_000, intervalMs: 50, message: `the shared Redis Cluster (${file})` },
  );
  if ('error' in state) throw new Error(`the shared Redis Cluster did not start: ${state.error}`);
  return state.nodes;
}
