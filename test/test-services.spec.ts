// The harness itself: env loading, unique names, waitFor, and a private Redis we can stop.
import { afterAll, describe, expect, it } from '@jest/globals';

import { redisPing } from '../scripts/lib/probe.mjs';
import { startRedisServer, type RedisServerHandle } from './support/fault-servers.js';
import mysql from 'mysql2/promise';
import {
  databaseUrl,
  kafkaBrokers,
  mariadbUrl,
  redisUrl,
  uniquePrefix,
} from './support/services.js';
import { waitFor } from './support/wait-for.js';

const answersPing = (url: string): Promise<boolean> =>
  redisPing(url, 500).then(
    () => true,
    () => false,
  );

describe('test services', () => {
  it('exposes the shared services from .test-services/env.json', async () => {
    expect(redisUrl()).toMatch(/^rediss?:\/\//);
    expect(databaseUrl()).toMatch(/^postgres(ql)?:\/\//);
    expect(mariadbUrl()).toMatch(/^(mysql|mariadb):\/\//);
    expect(kafkaBrokers().length).toBeGreaterThan(0);
    expect(await answersPing(redisUrl())).toBe(true);
  });

  it('gives a MariaDB that answers as root on database test', async () => {
    const connection = await mysql.createConnection({ uri: mariadbUrl(), connectTimeout: 3000 });
    try {
      const [rows] = await connection.query('SELECT DATABASE() AS db, VERSION() AS version');
      expect(rows).toEqual([{ db: 'test', version: expect.stringMatching(/MariaDB/) }]);
    } finally {
      await connection.end();
    }
  });

  it('makes unique, topic-safe prefixes', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniquePrefix('a b/c')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('waitFor resolves with the value and times out with the message', async () => {
    let calls = 0;
    await expect(
      waitFor(() => (++calls >= 3 ? 'done' : undefined), { intervalMs: 1 }),
    ).resolves.toBe('done');
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 50, intervalMs: 5, message: 'the impossible' },
      ),
    ).rejects.toThrow(/waiting for the impossible \(last error: boom\)/);
  });
});

describe('startRedisServer', () => {
  let redis: RedisServerHandle | undefined;

  afterAll(async () => {
    await redis?.stop();
  });

  it('stops, restarts on the same port, and survives a kill', async () => {
    redis = await startRedisServer();
    const { port, url } = redis;
    expect(url).toBe(`redis://127.0.0.1:${port}`);
    expect(url).not.toBe(redisUrl());
    expect(await answersPing(url)).toBe(true);

    await redis.stop();
    expect(redis.running).toBe(false);
    expect(await answersPing(url)).toBe(false);

    await redis.start();
    expect(redis.port).toBe(port);
    expect(await answersPing(url)).toBe(true);

    await redis.kill();
    expect(await answersPing(url)).toBe(false);
    await redis.start();
    expect(await answersPing(url)).toBe(true);
    // The shared Redis never noticed.
    expect(await answersPing(redisUrl())).toBe(true);
  });
});
