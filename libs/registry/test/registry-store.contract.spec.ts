import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { MemoryRegistryStore, RedisRegistryStore, type RegistryStore } from '@keel/registry';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import {
  describeStoreContract,
  type StoreImplementation,
} from '../../../test/support/store-contract.js';
import { record, registryStoreContract } from './registry-store.contract.js';

let client: Redis;
const subscribers: Redis[] = [];
beforeAll(() => {
  client = new Redis(redisUrl());
});
afterAll(async () => {
  await Promise.all(subscribers.map((s) => s.quit().catch(() => undefined)));
  await client.quit();
});

const implementations: StoreImplementation<RegistryStore>[] = [
  { name: 'memory', create: () => new MemoryRegistryStore(), destroy: (s) => s.close() },
  {
    name: 'redis',
    create: () =>
      new RedisRegistryStore({
        client,
        subscriber: () => {
          const s = new Redis(redisUrl());
          subscribers.push(s);
          return s;
        },
        keyPrefix: `${uniquePrefix('registry-contract')}:`,
      }),
    destroy: (s) => s.close(),
  },
];

describeStoreContract('RegistryStore', implementations, (store) => registryStoreContract(store));

it('keeps every key of a service in one hash tag (Cluster-safe), no SCAN needed', async () => {
  const prefix = `${uniquePrefix('registry-keys')}:`;
  const store = new RedisRegistryStore({
    client,
    subscriber: () => new Redis(redisUrl()),
    keyPrefix: prefix,
  });
  await store.register('pay', 'i1', record(), 5_000, 'p');
  await store.acquireLease('pay', 'm', 5_000);
  const keys = await client.keys(`${prefix}*`);
  const serviceKeys = keys.filter((k) => !k.endsWith(':services'));
  expect(serviceKeys.length).toBeGreaterThanOrEqual(4);
  for (const key of serviceKeys) expect(key).toContain('{registry:pay}');
  await client.del(...keys);
});
