import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule } from '../src/core.module.js';
import { loadKeelConfig } from '../src/config/keel-config.js';
import { RedisConnectionFactory, describeTarget } from '../src/redis/redis-connection.factory.js';
import {
  startRedisSentinel,
  type RedisSentinelHandle,
} from '../../../test/support/redis-sentinel.js';
import { uniquePrefix } from '../../../test/support/services.js';

describe('RedisConnectionFactory through a real Redis Sentinel', () => {
  let sentinel: RedisSentinelHandle;
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await sentinel?.stop();
  });

  it('finds the master through the Sentinel and uses it', async () => {
    const options = { sentinels: [...sentinel.sentinels], name: sentinel.name };
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }), redis: options })],
    }).compile();
    app = await moduleRef.init();
    const client = app.get(RedisConnectionFactory).client(options);
    const key = `${uniquePrefix('sentinel')}:k`;
    await client.set(key, 'via-sentinel', 'PX', 10_000);
    // The value is on the master the Sentinel named.
    const { Redis } = await import('ioredis');
    const direct = new Redis(sentinel.master.port, '127.0.0.1');
    try {
      expect(await direct.get(key)).toBe('via-sentinel');
    } finally {
      direct.disconnect();
    }
    expect(describeTarget(options)).toBe(`sentinel(${sentinel.name})`);
  });
});
