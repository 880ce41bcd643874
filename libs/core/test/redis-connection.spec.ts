import { afterEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { KeelCoreModule } from '../src/core.module.js';
import { loadKeelConfig } from '../src/config/keel-config.js';
import { RedisConnectionFactory, describeTarget } from '../src/redis/redis-connection.factory.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { waitFor } from '../../../test/support/wait-for.js';
import type { INestApplicationContext } from '@nestjs/common';

describe('RedisConnectionFactory (real Redis)', () => {
  let app: INestApplicationContext | undefined;
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await server?.stop();
    server = undefined;
  });

  async function boot(url = redisUrl()): Promise<RedisConnectionFactory> {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: { REDIS_URL: url } }) })],
    }).compile();
    app = await moduleRef.init();
    return app.get(RedisConnectionFactory);
  }

  it('shares one lazy command connection per distinct options', async () => {
    const factory = await boot();
    const a = factory.client(redisUrl(), 'locks');
    const b = factory.client(redisUrl(), 'breakers');
    expect(a).toBe(b);
    expect(a.status).toBe('wait'); // nothing connects until the first command
    const key = `${uniquePrefix('core')}:k`;
    await a.set(key, 'v', 'PX', 10_000);
    expect(await b.get(key)).toBe('v');
    expect(factory.client({ host: '127.0.0.1', port: Number(new URL(redisUrl()).port) })).not.toBe(
      a,
    );
  });

  it('gives a dedicated subscriber connection that receives published messages', async () => {
    const factory = await boot();
    const subscriber = factory.subscriber(redisUrl());
    expect(subscriber).not.toBe(factory.client(redisUrl()));
    const channel = uniquePrefix('chan');
    const received = new Promise<string>((resolve) =>
      subscriber.on('message', (ch: string, message: string) => ch === channel && resolve(message)),
    );
    await subscriber.subscribe(channel);
    await factory.client(redisUrl()).publish(channel, 'hello');
    await expect(received).resolves.toBe('hello');
  });

  it('closes every connection when the application shuts down', async () => {
    const factory = await boot();
    const client = factory.client(redisUrl());
    const subscriber = factory.subscriber(redisUrl());
    await client.ping();
    await subscriber.subscribe(uniquePrefix('x'));
    await app!.close();
    app = undefined;
    expect(client.status).toBe('end');
    expect(subscriber.status).toBe('end');
    expect(() => factory.client(redisUrl())).toThrow(/shut down/);
  });

  it('shuts down promptly when its Redis is gone, without waiting for a QUIT nobody answers', async () => {
    server = await startRedisServer();
    const factory = await boot(server.url);
    const client = factory.client(server.url);
    const subscriber = factory.subscriber(server.url);
    await client.ping();
    await subscriber.subscribe(uniquePrefix('gone'));
    await server.stop();
    await waitFor(() => client.status === 'reconnecting' && subscriber.status === 'reconnecting', {
      message: 'both connections reconnecting',
    });
    const started = performance.now();
    await app!.close();
    app = undefined;
    // Goal: a few milliseconds; QUIT to a dead server used to wait its whole second.
    expect(performance.now() - started).toBeLessThan(500);
    expect(() => factory.client(server!.url)).toThrow(/shut down/);
  });

  it('describes targets without credentials', () => {
    expect(describeTarget('redis://user:secret@cache.internal:6380/2')).toBe('cache.internal:6380');
    expect(describeTarget({ host: 'h', port: 1, password: 'secret' })).toBe('h:1');
    expect(describeTarget({ sentinels: [{ host: 's', port: 26379 }], name: 'main' })).toBe(
      'sentinel(main)',
    );
    expect(describeTarget({ cluster: [{ host: 'a', port: 7000 }] })).toBe('cluster(a:7000)');
  });
});
