import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisRegistryStore, type RegistryStore } from '@keel/registry';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { record, registryStoreContract } from './registry-store.contract.js';

// The same contract on a three-master Redis Cluster (shared by the run; every test has its own
// key prefix): every script's keys share the service's hash tag, push works across nodes, and
// nothing relies on SCAN.
let cluster: { nodes: readonly { host: string; port: number }[] };
let client: Cluster;
const subscribers: Cluster[] = [];

beforeAll(async () => {
  cluster = { nodes: await sharedRedisCluster() };
  client = new Cluster([...cluster.nodes]);
}, 60_000);

afterAll(async () => {
  await Promise.all(subscribers.map((s) => s.quit().catch(() => undefined)));
  await client?.quit().catch(() => undefined);
});

describeStoreContract<RegistryStore>(
  'RegistryStore',
  [
    {
      name: 'redis-cluster',
      create: () =>
        new RedisRegistryStore({
          client,
          subscriber: () => {
            const s = new Cluster([...cluster.nodes]);
            subscribers.push(s);
            return s;
          },
          keyPrefix: `${uniquePrefix('registry-cluster')}:`,
        }),
      destroy: (s) => s.close(),
    },
  ],
  (store) => registryStoreContract(store),
);

describe('RedisRegistryStore on Redis Cluster', () => {
  it('spreads services over masters and keeps each service in one slot', async () => {
    const store = new RedisRegistryStore({
      client,
      subscriber: () => {
        const s = new Cluster([...cluster.nodes]);
        subscribers.push(s);
        return s;
      },
      keyPrefix: `${uniquePrefix('registry-slots')}:`,
    });
    const services = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    for (const s of services)
      expect(await store.register(s, 'i1', record(), 5_000, 'p')).toBe('ok');
    for (const s of services) {
      expect((await store.snapshot(s)).records.map((r) => r.id)).toEqual(['i1']);
    }
    expect((await store.services()).sort()).toEqual([...services].sort());
    await store.close();
  });
});
