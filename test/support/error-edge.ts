import 'reflect-metadata';
import { expect } from '@jest/globals';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { KeelCoreModule, type KeelError, type KeelErrorCodes } from '@keel/core';
import { freePort } from './fault-servers.js';

/**
 * Proves a lib's errors reach the edge as its error table says: one sample error per code,
 * thrown from an HTTP route and from a TCP `@MessagePattern` handler of a real Nest application
 * with only `KeelCoreModule` (whose global filter does the mapping). Checks that every code of
 * the table has a sample, that HTTP answers with the table's status and `{ statusCode, code,
 * message }`, and that the RPC client receives the same body.
 */
export async function expectErrorsReachTheEdge(
  table: KeelErrorCodes,
  samples: readonly KeelError[],
): Promise<void> {
  expect(samples.map((e) => e.code).sort()).toEqual(Object.keys(table).sort());

  @Controller('edge')
  class EdgeController {
    @Get(':index')
    http(@Param('index') index: string): never {
      throw samples[Number(index)];
    }

    @MessagePattern('edge')
    rpc(@Payload() index: number): never {
      throw samples[index];
    }
  }

  @Module({ imports: [KeelCoreModule.forRoot({ redis: false })], controllers: [EdgeController] })
  class EdgeModule {}

  const port = await freePort();
  const app = await NestFactory.create(EdgeModule, { logger: false });
  // A hybrid application shares its global filters with the microservice only when asked to.
  app.connectMicroservice<MicroserviceOptions>(
    { transport: Transport.TCP, options: { host: '127.0.0.1', port } },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.init();
  const client = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  try {
    for (const [index, sample] of samples.entries()) {
      const expected = table[sample.code];
      const res = await request(app.getHttpServer()).get(`/edge/${index}`);
      expect({ code: sample.code, status: res.status }).toEqual({
        code: sample.code,
        status: expected.status,
      });
      expect(res.body).toMatchObject({ statusCode: expected.status, code: sample.code });
      expect(typeof res.body.message).toBe('string');
      const rpcError = await lastValueFrom(client.send('edge', index)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(rpcError).toMatchObject({ statusCode: expected.status, code: sample.code });
    }
  } finally {
    await client.close();
    await app.close();
  }
}
