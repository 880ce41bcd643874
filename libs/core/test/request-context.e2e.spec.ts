import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { setTimeout as delay } from 'node:timers/promises';
import { KeelCoreModule } from '../src/core.module.js';
import { loadKeelConfig } from '../src/config/keel-config.js';
import { RequestContext } from '../src/context/request-context.js';

@Injectable()
class FakeAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: unknown }>();
    if (req.headers.authorization === 'Bearer alice') req.user = { id: 'alice' };
    return true;
  }
}

@Controller('whoami')
class WhoAmIController {
  @Get()
  @UseGuards(FakeAuthGuard)
  async get() {
    await delay(5);
    return {
      correlationId: RequestContext.correlationId(),
      actor: RequestContext.actor() ?? null,
      tenant: RequestContext.tenant() ?? null,
    };
  }
}

describe('request context over HTTP', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('carries correlation id, tenant and the authenticated actor into handlers', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }) })],
      controllers: [WhoAmIController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const server = app.getHttpServer();

    const res = await request(server)
      .get('/whoami')
      .set('x-correlation-id', 'abc-1')
      .set('x-tenant-id', 'acme')
      .set('authorization', 'Bearer alice')
      .expect(200);
    expect(res.body).toEqual({ correlationId: 'abc-1', actor: 'alice', tenant: 'acme' });
    expect(res.headers['x-correlation-id']).toBe('abc-1');

    const anonymous = await request(server).get('/whoami').expect(200);
    expect(anonymous.body.actor).toBeNull();
    expect(anonymous.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(anonymous.headers['x-correlation-id']).toBe(anonymous.body.correlationId);
  });
});
