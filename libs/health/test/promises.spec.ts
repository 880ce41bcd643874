import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KeelCoreModule, loadKeelConfig, type KeelCoreOptions } from '@keel/core';
import { HealthModule } from '@keel/health';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { databaseUrl, redisUrl } from '../../../test/support/services.js';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js';
import { settlesWithin, waitFor } from '../../../test/support/wait-for.js';

const PASSWORD = 'hunter2-secret';

/** Makes a private Redis require PASSWORD (after its helper's unauthenticated readiness PING). */
async function requirePassword(server: RedisServerHandle): Promise<void> {
  const admin = new Redis(server.url);
  try {
    await admin.config('SET', 'requirepass', PASSWORD);
  } finally {
    admin.disconnect();
  }
}

/**
 * The health module's own checks against real backends: Redis (shared, and a private one this
 * suite stops) and PostgreSQL (through a proxy this suite cuts), up and down, never showing a
 * credential.
 */
describe('HealthModule on real Redis and PostgreSQL', () => {
  let app: INestApplication | undefined;
  let redis: RedisServerHandle | undefined;
  let proxy: TcpProxy | undefined;
  let dataSource: DataSource | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    if (dataSource?.isInitialized) await dataSource.destroy();
    dataSource = undefined;
    await proxy?.close();
    proxy = undefined;
    await redis?.stop();
    redis = undefined;
  });

  async function boot(
    core: KeelCoreOptions,
    health: Parameters<typeof HealthModule.forRoot>[0] = {},
    connected?: DataSource,
  ): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }), ...core }),
        HealthModule.forRoot(health),
        ...(connected === undefined
          ? []
          : [
              TypeOrmModule.forRootAsync({
                useFactory: () => connected.options,
                dataSourceFactory: async () => connected,
              }),
            ]),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }
  const ready = (server: unknown) =>
    request(server as Parameters<typeof request>[0]).get('/health/ready');

  it('Redis: up on the shared server, with host:port and the round trip', async () => {
    const server = (await boot({ redis: redisUrl() }, { database: false })).getHttpServer();
    const res = await ready(server).expect(200);
    const { hostname, port } = new URL(redisUrl());
    expect(res.body.details.redis).toEqual({
      status: 'up',
      target: `${hostname}:${port || 6379}`,
      rttMs: expect.any(Number),
      responseTime: expect.any(Number),
    });
  });

  it('Redis stopped: down with its connection state within 5 s, not after the 20 s time limit; up again after a restart; never the password', async () => {
    redis = await startRedisServer();
    await requirePassword(redis);
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    // A time limit far above the wait below: a check that waited for Redis would answer with
    // "timeout of 20000ms exceeded", long after settlesWithin gave up.
    const server = (
      await boot({ redis: url }, { database: false, timeoutMs: 20_000 })
    ).getHttpServer();
    const up = await ready(server).expect(200);
    expect(up.body.details.redis).toMatchObject({
      status: 'up',
      target: `127.0.0.1:${redis.port}`,
    });
    await redis.stop();
    const down = await settlesWithin(
      waitFor(
        async () => {
          const res = await ready(server);
          return res.status === 503 ? res : undefined;
        },
        { timeoutMs: 5_000, message: 'health reporting Redis down' },
      ),
      5_000,
      'health answering 503 for a stopped Redis',
    );
    expect(down.body.error.redis).toEqual({
      status: 'down',
      target: `127.0.0.1:${redis.port}`,
      message: expect.stringMatching(/^connection (connecting|reconnecting|close|end)$/),
      responseTime: expect.any(Number),
    });
    const body = JSON.stringify(down.body) + JSON.stringify(up.body);
    expect(body).not.toContain(PASSWORD);
    expect(body).not.toContain('redis://');
    await redis.start();
    await requirePassword(redis);
    await waitFor(async () => (await ready(server)).status === 200, {
      timeoutMs: 15_000,
      message: 'health up again after Redis restarted',
    });
  });

  it('Redis Cluster given as URLs with a password: the target names hosts and ports only', async () => {
    const nodes = await sharedRedisCluster();
    // The shared cluster has no password; ioredis sends it anyway, so it must not be shown.
    const cluster = nodes.map((n) => `redis://:${PASSWORD}@${n.host}:${n.port}`);
    const server = (
      await boot({ redis: { cluster } }, { database: false, timeoutMs: 5_000 })
    ).getHttpServer();
    const res = await ready(server);
    const report = res.body.details?.redis ?? res.body.error?.redis;
    expect(report.target).toBe(`cluster(${nodes.map((n) => `${n.host}:${n.port}`).join(',')})`);
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    expect(JSON.stringify(res.body)).not.toContain('redis://');
  });

  it('PostgreSQL: up, then down with the driver error when the database goes away, then up again; no credentials either way', async () => {
    const target = new URL(databaseUrl());
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    // Trust authentication ignores the password, so the URL carries one for the body to leak.
    const url = new URL(databaseUrl());
    url.port = String(proxy.port);
    url.password = PASSWORD;
    dataSource = new DataSource({ type: 'postgres', url: url.toString(), extra: { max: 1 } });
    await dataSource.initialize();
    const server = (
      await boot({ redis: false }, { database: true, timeoutMs: 5_000 }, dataSource)
    ).getHttpServer();
    const up = await ready(server).expect(200);
    expect(up.body.details.database).toEqual({
      status: 'up',
      type: 'postgres',
      responseTime: expect.any(Number),
    });
    await proxy.cut();
    const down = await waitFor(
      async () => {
        const res = await ready(server);
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 10_000, message: 'health reporting the database down' },
    );
    expect(down.body.error.database).toMatchObject({ status: 'down', type: 'postgres' });
    expect(down.body.error.database.message).toEqual(expect.any(String));
    expect(down.body.error.database.message).not.toMatch(/timeout of \d+ms exceeded/);
    const body = JSON.stringify(down.body) + JSON.stringify(up.body);
    expect(body).not.toContain(PASSWORD);
    expect(body).not.toContain('postgres://');
    expect(body).not.toContain(url.username ? `${url.username}:` : PASSWORD);
    await proxy.restore();
    await waitFor(async () => (await ready(server)).status === 200, {
      timeoutMs: 15_000,
      message: 'health up again once the database is back',
    });
  });
});
