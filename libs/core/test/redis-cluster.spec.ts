import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Cluster } from 'ioredis';
import { KeelCoreModule } from '../src/core.module.js';
import { loadKeelConfig } from '../src/config/keel-config.js';
import { RedisConnectionFactory } from '../src/redis/redis-connection.factory.js';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { uniquePrefix } from '../../../test/support/services.js';

describe('RedisConnectionFactory on a real Redis Cluster', () => {
  let cluster: { nodes: readonly { host: string; port: number }[] };
  let app: INestApplicationContext;
  let client: Cluster;

  beforeAll(async () => {
    cluster = { nodes: await sharedRedisCluster() };
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          config: loadKeelConfig({ env: {} }),
          redis: { cluster: cluster.nodes },
        }),
      ],
    }).compile();
    app = await moduleRef.init();
    const settings = app.get(RedisConnectionFactory);
    client = settings.client({ cluster: cluster.nodes }) as Cluster;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('routes keys spread over every master', async () => {
    const prefix = uniquePrefix('cluster');
    const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:${i}`);
    for (const key of keys) await client.set(key, key, 'PX', 30_000);
    const masters = new Set(keys.map((k) => client.slots[calculateSlot(k)]?.[0]));
    expect(masters.size).toBe(3);
    for (const key of keys) expect(await client.get(key)).toBe(key);
  });

  it('runs a multi-key Lua script when the keys share a hash tag', async () => {
    const tag = `{${uniquePrefix('tag')}}`;
    const result = await client.eval(
      "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('MGET', KEYS[1], KEYS[2])",
      2,
      `${tag}:a`,
      `${tag}:b`,
      'v',
    );
    expect(result).toEqual(['v', 'v']);
    // Without a shared tag the same script is refused: the cluster is real.
    await expect(
      client.eval(
        "return redis.call('MGET', KEYS[1], KEYS[2])",
        2,
        `${tag}:a`,
        `other-${tag.slice(1, -1)}:b`,
      ),
    ).rejects.toThrow(/CROSSSLOT|same slot/i);
  });

  it('closes the cluster connection at shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }) })],
    }).compile();
    const other = await moduleRef.init();
    const own = other.get(RedisConnectionFactory).client({ cluster: cluster.nodes });
    await own.ping();
    await other.close();
    expect(own.status).toBe('end');
  });
});

// ioredis keeps the slot table on the client; the slot of a key is CRC16(hash tag or key) % 16384.
function calculateSlot(key: string): number {
  const start = key.indexOf('{');
  let hashed = key;
  if (start !== -1) {
    const end = key.indexOf('}', start + 1);
    if (end > start + 1) hashed = key.slice(start + 1, end);
  }
  return crc16(Buffer.from(hashed)) % 16384;
}

function crc16(buffer: Buffer): number {
  let crc = 0;
  for (const byte of buffer) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
