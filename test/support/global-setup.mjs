// Jest globalSetup of the integration project: starts, in the background, what several suites
// share. Plain JavaScript, because Jest does not transpile what a global setup module imports.
// The handle stays on globalThis, which Jest keeps for global-teardown.mjs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startSharedRedisCluster } from '../../scripts/lib/redis-cluster.mjs';

export default function globalSetup() {
  const file = join(mkdtempSync(join(tmpdir(), 'keel-shared-cluster-')), 'cluster.json');
  // Read by sharedRedisCluster() (test/support/redis-cluster.ts) in the test workers.
  process.env.KEEL_TEST_REDIS_CLUSTER_FILE = file;
  globalThis.keelSharedCluster = startSharedRedisCluster(file);
}
