import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import {
  KeelArgumentError,
  KeelCoreModule,
  KeelError,
  KeelRedisClosedError,
  KeyTemplateValueError,
  isKeelError,
  keelErrorBody,
} from '@keel/core';

class BusyError extends KeelError {
  readonly retryAfterMs = 2_500;
  constructor() {
    super('TEST_BUSY', 'busy, come back later', { status: 503 });
  }
}

@Controller('t')
class ThrowingController {
  @Get('busy')
  busy(): never {
    throw new BusyError();
  }

  @Get('plain')
  plain(): never {
    throw new Error('database password is hunter2');
  }

  @Get('key')
  key(): never {
    throw new KeyTemplateValueError("placeholder '{id}' is undefined");
  }
}

async function boot(exceptionFilter?: boolean): Promise<INestApplication> {
  @Module({
    imports: [
      exceptionFilter === undefined
        ? KeelCoreModule.forRoot({ redis: false })
        : KeelCoreModule.forRoot({ redis: false, exceptionFilter }),
    ],
    controllers: [ThrowingController],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  return app.init();
}

describe('KeelExceptionFilter', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('sends Retry-After in whole seconds when the error says when to retry', async () => {
    app = await boot();
    const res = await request(app.getHttpServer()).get('/t/busy');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body).toEqual({
      statusCode: 503,
      code: 'TEST_BUSY',
      message: 'busy, come back later',
    });
  });

  it("leaves errors that are not Keel's to Nest, which hides their message", async () => {
    app = await boot();
    const res = await request(app.getHttpServer()).get('/t/plain');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
  });

  it('is not registered with exceptionFilter: false (Nest answers 500 for every Keel error)', async () => {
    app = await boot(false);
    const res = await request(app.getHttpServer()).get('/t/key');
    expect(res.status).toBe(500);
    expect(res.body.code).toBeUndefined();
    await app.close();
    app = await boot(true);
    expect((await request(app.getHttpServer()).get('/t/key')).status).toBe(400);
  });

  it('gives a custom filter the same body through keelErrorBody()', () => {
    expect(keelErrorBody(new KeelRedisClosedError('closed'))).toEqual({
      statusCode: 503,
      code: 'KEEL_REDIS_CLOSED',
      message: 'closed',
    });
  });
});

describe('KeelError across copies of the package', () => {
  it('is recognised by isKeelError and instanceof when another copy made it', async () => {
    // A second copy of the module, as npm leaves when two versions of @keel/core are installed.
    const copy = (await import(
      `../src/core.errors.ts?copy=${Date.now()}`
    )) as typeof import('../src/core.errors.js');
    expect(copy.KeelError).not.toBe(KeelError);
    const foreign = new copy.KeelRedisClosedError('closed');
    expect(foreign instanceof KeelRedisClosedError).toBe(false);
    expect(isKeelError(foreign)).toBe(true);
    expect(foreign instanceof KeelError).toBe(true);
    expect(new Error('x') instanceof KeelError).toBe(false);
    expect(new KeelRedisClosedError('closed') instanceof KeelArgumentError).toBe(false);
  });
});
