import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { RedisScript } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';

// A private server: the test flushes its script cache.
let server: RedisServerHandle;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = new Redis(server.url, { enableAutoPipelining: true });
});
afterAll(async () => {
  await closeRedisClient(client);
  await server.stop();
});

const ECHO = new RedisScript<[string, string]>('return {KEYS[1], ARGV[1]}');

/**
 * Calls `call` twice on an empty script cache and checks what the server ran: the first EVALSHA
 * fails (NOSCRIPT), EVAL caches the script, the second EVALSHA succeeds.
 */
async function twiceAfterFlush(call: (n: number) => Promise<unknown>): Promise<unknown[]> {
  await client.script('FLUSH');
  await client.config('RESETSTAT');
  const replies = [await call(1), await call(2)];
  const stats = await client.info('commandstats');
  expect(stats).toMatch(/^cmdstat_eval:calls=1,/m);
  expect(stats).toMatch(/^cmdstat_evalsha:calls=2,.*failed_calls=1/m);
  return replies;
}

it('runs by EVALSHA, loading the script with EVAL when the server does not have it', async () => {
  expect(await twiceAfterFlush((n) => ECHO.run(client, 1, `k${n}`, `v${n}`))).toEqual([
    ['k1', 'v1'],
    ['k2', 'v2'],
  ]);
  expect(await client.script('EXISTS', ECHO.sha)).toEqual([1]);
});

it('passes other errors through and defines nothing on the client', async () => {
  const failing = new RedisScript("return redis.error_reply('ERR nope')");
  await expect(failing.run(client, 0)).rejects.toThrow(/nope/);
  // Every defined command would be copied onto each auto-pipeline (one per round trip).
  expect(Object.keys(client.scriptsSet)).toEqual([]);
});

it('send() writes outside the auto-pipeline with the same results: string replies, the key prefix, EVAL on NOSCRIPT', async () => {
  const prefixed = new Redis(server.url, { enableAutoPipelining: true, keyPrefix: 'p:' });
  try {
    expect(await twiceAfterFlush((n) => ECHO.send(prefixed, 1, `k${n}`, `v${n}`))).toEqual([
      ['p:k1', 'v1'],
      ['p:k2', 'v2'],
    ]);
    // Calls sent together keep their order (each reply belongs to its own call).
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ECHO.send(prefixed, 1, `k${i}`, `v${i}`)),
    );
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => [`p:k${i}`, `v${i}`]));
    const failing = new RedisScript("return redis.error_reply('ERR nope')");
    await expect(failing.send(prefixed, 0)).rejects.toThrow(/nope/);
  } finally {
    await closeRedisClient(prefixed);
  }
});
