// Jest globalTeardown of the integration project: stops what global-setup.mjs started.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

export default async function globalTeardown() {
  await globalThis.keelSharedCluster?.stop();
  const file = process.env.KEEL_TEST_REDIS_CLUSTER_FILE;
  if (file) rmSync(dirname(file), { recursive: true, force: true });
}
