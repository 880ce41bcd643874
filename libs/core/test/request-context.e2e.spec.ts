import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  RequestMethod,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { setTimeout as delay } from 'node:timers/promises';
import { KeelCoreModule } from '../src/core.module.js';
import { loadKeelConfig } from '../src/config/keel-config.js';
import { RequestContext } from '../src/context/request-context.js';
import { RequestContextInterceptor } from '../src/context/request-context.interceptor.js';
import { RequestContextMiddleware } from '../src/context/request-context.middleware.js';
import type { KeelCoreOptions } from '../src/interfaces/core-options.interface.js';
import { isKeelConfigError } from '../src/core.errors.js';
import { freePort } from '../../../test/support/fault-servers.js';

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

@Controller()
class RoutesController {
  @Get('api/orders')
  orders() {
    return { correlationId: RequestContext.correlationId() ?? null };
  }

  @Get('api/health')
  health() {
    return { correlationId: RequestContext.correlationId() ?? null };
  }

  @Get('other')
  other() {
    return { correlationId: RequestContext.correlationId() ?? null };
  }
}

@Controller()
class MessagesController {
  @MessagePattern('whoami')
  async whoami() {
    await delay(1);
    return { correlationId: RequestContext.correlationId() ?? null };
  }
}

const config = loadKeelConfig({ env: {} });

describe('request context: off, limited to routes, interceptor on or off', () => {
  let app: INestApplication | undefined;
  let client: ClientProxy | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await client?.close();
    client = undefined;
    await app?.close();
    app = undefined;
  });

  async function boot(
    context: KeelCoreOptions['context'],
    options: { microservice?: boolean } = {},
  ): Promise<{ http: ReturnType<INestApplication['getHttpServer']>; rpc?: ClientProxy }> {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config, context })],
      controllers: options.microservice
        ? [RoutesController, MessagesController]
        : [RoutesController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    if (options.microservice) {
      const port = await freePort();
      app.connectMicroservice(
        { transport: Transport.TCP, options: { host: '127.0.0.1', port } },
        { inheritAppConfig: true },
      );
      await app.startAllMicroservices();
      client = ClientProxyFactory.create({
        transport: Transport.TCP,
        options: { host: '127.0.0.1', port },
      });
    }
    await app.init();
    return { http: app.getHttpServer(), rpc: client };
  }

  /** The correlation id a route saw, and the one echoed in the response (null when none). */
  async function get(http: Parameters<typeof request>[0], path: string) {
    const res = await request(http).get(path).set('x-correlation-id', `id-${path}`).expect(200);
    return {
      seen: (res.body as { correlationId: string | null }).correlationId,
      echoed: res.headers['x-correlation-id'] ?? null,
    };
  }

  const rpcCorrelationId = async (rpc: ClientProxy | undefined) =>
    (await lastValueFrom(rpc!.send<{ correlationId: string | null }>('whoami', {}))).correlationId;

  it('context: false runs neither the middleware nor the interceptor, on HTTP or RPC', async () => {
    const use = jest.spyOn(RequestContextMiddleware.prototype, 'use');
    const intercept = jest.spyOn(RequestContextInterceptor.prototype, 'intercept');
    const { http, rpc } = await boot(false, { microservice: true });

    await expect(get(http, '/api/orders')).resolves.toEqual({ seen: null, echoed: null });
    await expect(rpcCorrelationId(rpc)).resolves.toBeNull();
    expect(use).not.toHaveBeenCalled();
    expect(intercept).not.toHaveBeenCalled();
    // RequestContext.run() still works for code that opens a context itself.
    expect(
      RequestContext.run({ correlationId: 'job-1' }, () => RequestContext.correlationId()),
    ).toBe('job-1');
  });

  it('routes: only the chosen HTTP routes get a context and the correlation header', async () => {
    const use = jest.spyOn(RequestContextMiddleware.prototype, 'use');
    const { http } = await boot({
      routes: ['api/{*path}', { path: 'other', method: RequestMethod.POST }],
    });

    await expect(get(http, '/api/orders')).resolves.toEqual({
      seen: 'id-/api/orders',
      echoed: 'id-/api/orders',
    });
    expect(use).toHaveBeenCalledTimes(1);
    // GET /other matches neither the path nor the method given for it.
    await expect(get(http, '/other')).resolves.toEqual({ seen: null, echoed: null });
    expect(use).toHaveBeenCalledTimes(1);
  });

  it('exclude: the excluded routes get no context; the others keep theirs', async () => {
    const use = jest.spyOn(RequestContextMiddleware.prototype, 'use');
    const { http } = await boot({ exclude: ['api/health'] });

    await expect(get(http, '/api/health')).resolves.toEqual({ seen: null, echoed: null });
    expect(use).not.toHaveBeenCalled();
    await expect(get(http, '/api/orders')).resolves.toEqual({
      seen: 'id-/api/orders',
      echoed: 'id-/api/orders',
    });
    await expect(get(http, '/other')).resolves.toEqual({ seen: 'id-/other', echoed: 'id-/other' });
  });

  it("interceptor 'auto' (the default) is not registered in an HTTP-only app", async () => {
    const intercept = jest.spyOn(RequestContextInterceptor.prototype, 'intercept');
    const { http } = await boot(undefined);

    await expect(get(http, '/other')).resolves.toEqual({ seen: 'id-/other', echoed: 'id-/other' });
    expect(intercept).not.toHaveBeenCalled();
  });

  it("interceptor 'auto' opens the context for microservice handlers, and HTTP keeps its own", async () => {
    const intercept = jest.spyOn(RequestContextInterceptor.prototype, 'intercept');
    const { http, rpc } = await boot(undefined, { microservice: true });

    // TCP messages carry no headers: the context is opened with a generated correlation id.
    await expect(rpcCorrelationId(rpc)).resolves.toMatch(/^[0-9a-f-]{36}$/);
    expect(intercept).toHaveBeenCalled();
    await expect(get(http, '/other')).resolves.toEqual({ seen: 'id-/other', echoed: 'id-/other' });
  });

  it('routes: [] leaves HTTP without a context while microservice handlers keep theirs', async () => {
    const use = jest.spyOn(RequestContextMiddleware.prototype, 'use');
    const { http, rpc } = await boot({ routes: [] }, { microservice: true });

    await expect(get(http, '/api/orders')).resolves.toEqual({ seen: null, echoed: null });
    expect(use).not.toHaveBeenCalled();
    await expect(rpcCorrelationId(rpc)).resolves.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('interceptor: false leaves microservice handlers without a context; HTTP keeps its own', async () => {
    const intercept = jest.spyOn(RequestContextInterceptor.prototype, 'intercept');
    const { http, rpc } = await boot({ interceptor: false }, { microservice: true });

    await expect(rpcCorrelationId(rpc)).resolves.toBeNull();
    expect(intercept).not.toHaveBeenCalled();
    await expect(get(http, '/other')).resolves.toEqual({ seen: 'id-/other', echoed: 'id-/other' });
  });

  it('interceptor: true registers it in an HTTP-only app, where it leaves the middleware its work', async () => {
    const intercept = jest.spyOn(RequestContextInterceptor.prototype, 'intercept');
    const { http } = await boot({ interceptor: true, exclude: ['api/health'] });

    await expect(get(http, '/other')).resolves.toEqual({ seen: 'id-/other', echoed: 'id-/other' });
    // An excluded route stays without a context: the interceptor opens none for HTTP.
    await expect(get(http, '/api/health')).resolves.toEqual({ seen: null, echoed: null });
    expect(intercept).toHaveBeenCalledTimes(2);
  });

  it('reads the tenant from the configured header, whatever its case', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config, context: { tenantHeader: 'X-Org' } })],
      controllers: [WhoAmIController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    const res = await request(app.getHttpServer())
      .get('/whoami')
      .set('x-org', 'acme')
      .set('x-tenant-id', 'other')
      .expect(200);
    expect(res.body.tenant).toBe('acme');
  });

  it('takes the context option from forRootAsync too', async () => {
    const use = jest.spyOn(RequestContextMiddleware.prototype, 'use');
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRootAsync({
          useFactory: async () => ({ config, context: { exclude: ['other'] } }),
        }),
      ],
      controllers: [RoutesController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    await expect(get(app.getHttpServer(), '/other')).resolves.toEqual({ seen: null, echoed: null });
    expect(use).not.toHaveBeenCalled();
    await expect(get(app.getHttpServer(), '/api/orders')).resolves.toEqual({
      seen: 'id-/api/orders',
      echoed: 'id-/api/orders',
    });
  });

  it('fails at startup with one line per bad context option', async () => {
    const error = await boot({
      interceptor: 'yes' as never,
      routes: [{ path: 'x', method: 'GET' as never }],
      tenantHeader: 'bad header',
      rotues: [],
    } as never).catch((e: unknown) => e);
    expect(isKeelConfigError(error)).toBe(true);
    const problems = (error as { problems: string[] }).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(
      /KeelCoreModule\.context\.interceptor \(forRoot\): must be one of: true, false, auto/,
    );
    expect(problems.join('\n')).toMatch(
      /KeelCoreModule\.context\.routes\.0 \(forRoot\): .*must be a RequestMethod/,
    );
    expect(problems.join('\n')).toMatch(
      /KeelCoreModule\.context\.tenantHeader \(forRoot\): must be an HTTP header name/,
    );
    expect(problems.join('\n')).toMatch(/rotues/);
  });
});
