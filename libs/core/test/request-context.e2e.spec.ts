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

  it('answers 400 to an invalid tenant header and never runs the handler for it', async () => {
    let calls = 0;
    @Controller('tenant')
    class TenantController {
      @Get()
      get() {
        calls++;
        return { tenant: RequestContext.tenant() ?? null };
      }
    }
    const boot = async (context?: { tenantHeader?: string | false }) => {
      const moduleRef = await Test.createTestingModule({
        imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }), context })],
        controllers: [TenantController],
      }).compile();
      const nest = moduleRef.createNestApplication({ logger: false });
      await nest.init();
      return nest;
    };
    app = await boot();
    const server = app.getHttpServer();
    for (const tenant of ['acme corp', 'acme:admin', 'x'.repeat(129)]) {
      const res = await request(server).get('/tenant').set('x-tenant-id', tenant).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400 });
      expect(res.body.message).toMatch(/tenant id .* is not valid/);
    }
    // Two headers naming different tenants are as ambiguous as a malformed one.
    // (an array sends one header line each; supertest's types allow that for Cookie only)
    await request(server)
      .get('/tenant')
      .set('x-tenant-id', ['acme', 'evil'] as unknown as string)
      .expect(400);
    expect(calls).toBe(0);
    await request(server).get('/tenant').set('x-tenant-id', 'acme').expect(200, { tenant: 'acme' });
    await request(server).get('/tenant').expect(200, { tenant: null });
    await app.close();

    // A service that reads no tenant does not refuse requests over a header it ignores.
    app = await boot({ tenantHeader: false });
    await request(app.getHttpServer())
      .get('/tenant')
      .set('x-tenant-id', 'acme corp')
      .expect(200, { tenant: null });
  });
});
