import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { HealthModule } from '@keel/health';
import { databaseUrl } from '../../../test/support/services.js';

/**
 * The database readiness check runs on Terminus' TypeOrmHealthIndicator against the shared
 * PostgreSQL; what Keel adds around it (type, not-initialized, no credentials) is checked here.
 */
describe('HealthModule database check (Terminus TypeOrmHealthIndicator, real PostgreSQL)', () => {
  let app: INestApplication | undefined;
  let dataSource: DataSource | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    if (dataSource?.isInitialized) await dataSource.destroy();
    dataSource = undefined;
  });

  const PASSWORD = 'hunter2-secret';

  async function boot(timeoutMs?: number): Promise<INestApplication> {
    // Trust authentication ignores the password, so the URL carries one for the body to leak.
    const url = new URL(databaseUrl());
    url.password = PASSWORD;
    dataSource = new DataSource({ type: 'postgres', url: url.toString(), extra: { max: 1 } });
    await dataSource.initialize();
    const connected = dataSource;
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        HealthModule.forRoot({ database: true, timeoutMs }),
        TypeOrmModule.forRootAsync({
          useFactory: () => connected.options,
          dataSourceFactory: async () => connected,
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  it('is up with the database type and the time it took, never the URL or its password', async () => {
    const res = await request((await boot()).getHttpServer())
      .get('/health/ready')
      .expect(200);
    expect(res.body.details.database).toEqual({
      status: 'up',
      type: 'postgres',
      responseTime: expect.any(Number),
    });
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    expect(JSON.stringify(res.body)).not.toContain('postgres://');
  });

  it('is down within its time limit when the query cannot get a connection', async () => {
    const server = (await boot(100)).getHttpServer();
    // The pool has one connection; holding it makes SELECT 1 wait past the limit.
    const runner = dataSource!.createQueryRunner();
    await runner.connect();
    try {
      const res = await request(server).get('/health/ready').expect(503);
      expect(res.body.error.database).toMatchObject({
        status: 'down',
        type: 'postgres',
        message: 'timeout of 100ms exceeded',
      });
    } finally {
      await runner.release();
    }
    await request(server).get('/health/ready').expect(200);
  });

  it('is down, without a query, when the DataSource is no longer initialized', async () => {
    const server = (await boot()).getHttpServer();
    await dataSource!.destroy();
    const res = await request(server).get('/health/ready').expect(503);
    expect(res.body.error.database).toEqual({
      status: 'down',
      type: 'postgres',
      message: 'not initialized',
    });
  });
});
