/**
 * One server of the `http` benchmark, run in its own process by `http.bench.ts`:
 * `node dist/bench/http-server.js <subject>` listens on a free loopback port, prints
 * `{"listening":<port>}` on stdout and serves until SIGTERM (or until its parent closes stdin).
 * With `--count-async`, it counts the async resources created (by type: promises, ticks…) and
 * answers the stdin line `count` with `{"counts":{…}}` since the previous `count`; the hook that
 * counts them is itself an async hook, so such a server is never timed.
 *
 * Every subject serves the same route, `GET /hello` → `{"ok":true}` from an async handler; only
 * what is imported around it changes.
 */
import 'reflect-metadata';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import {
  Controller,
  Get,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClsModule } from 'nestjs-cls';
import { KeelCoreModule, Timed, loadKeelConfig } from '@keel/core';
import { Bulkhead, CircuitBreaker, CoordinationModule, Retry, Timeout } from '@keel/coordination';

@Controller()
class HelloController {
  @Get('hello')
  async hello(): Promise<{ ok: boolean }> {
    return { ok: true };
  }
}

@Controller()
class DecoratedHelloController {
  @Get('hello')
  @Timed()
  @Retry({ maxAttempts: 3 })
  @CircuitBreaker({ name: 'bench-http' })
  @Timeout(1_000)
  @Bulkhead({ maxConcurrent: 100 })
  async hello(): Promise<{ ok: boolean }> {
    return { ok: true };
  }
}

const config = loadKeelConfig({ env: { KEEL_SERVICE_NAME: 'bench-http' } });
const emptyStorage = new AsyncLocalStorage<object>();
const EMPTY = {};

/** The floor of any AsyncLocalStorage request context: one empty `run()` per request. */
@Module({ controllers: [HelloController] })
class EmptyAlsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: unknown, _res: unknown, next: () => void) => emptyStorage.run(EMPTY, next))
      .forRoutes('{*path}');
  }
}

@Module({ controllers: [HelloController] })
class NestOnlyModule {}

@Module({})
class BenchModule {}

const MODULES: Record<string, () => Type | DynamicModule> = {
  nest: () => NestOnlyModule,
  nest_empty_als: () => EmptyAlsModule,
  keel_off: () => ({
    module: BenchModule,
    imports: [KeelCoreModule.forRoot({ config, context: false })],
    controllers: [HelloController],
  }),
  keel_on: () => ({
    module: BenchModule,
    imports: [KeelCoreModule.forRoot({ config })],
    controllers: [HelloController],
  }),
  // What a hybrid application (HTTP + microservice handlers) has: the interceptor on every route.
  keel_on_interceptor: () => ({
    module: BenchModule,
    imports: [KeelCoreModule.forRoot({ config, context: { interceptor: true } })],
    controllers: [HelloController],
  }),
  // nestjs-cls doing what Keel's context does: the correlation id taken from the header or
  // generated, the tenant read from its header, the id echoed in the response.
  nestjs_cls: () => ({
    module: BenchModule,
    imports: [
      ClsModule.forRoot({
        global: true,
        middleware: {
          mount: true,
          generateId: true,
          idGenerator: (req: IncomingMessage) => {
            const id = req.headers['x-correlation-id'];
            return typeof id === 'string' ? id : randomUUID();
          },
          setup: (cls, req: IncomingMessage, res: ServerResponse) => {
            cls.set('tenant', req.headers['x-tenant-id']);
            res.setHeader('x-correlation-id', cls.getId());
          },
        },
      }),
    ],
    controllers: [HelloController],
  }),
  full_stack: () => ({
    module: BenchModule,
    imports: [KeelCoreModule.forRoot({ config }), CoordinationModule.forRoot({})],
    controllers: [DecoratedHelloController],
  }),
};

function countAsyncResources(): void {
  let counts: Record<string, number> = {};
  createHook({
    init(_id, type) {
      counts[type] = (counts[type] ?? 0) + 1;
    },
  }).enable();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'count') return;
    console.log(JSON.stringify({ counts }));
    counts = {};
  });
}

async function serve(subject: string, countAsync: boolean): Promise<void> {
  const app = await NestFactory.create(MODULES[subject](), { logger: false });
  if (countAsync) countAsyncResources();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    // A clean exit, so that --cpu-prof writes its profile.
    void app.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', close);
  process.stdin.on('end', close);
  process.stdin.resume();
  console.log(JSON.stringify({ listening: address.port }));
}

const subject = process.argv[2] ?? '';
if (!(subject in MODULES)) {
  console.error(`usage: http-server.js <${Object.keys(MODULES).join('|')}>`);
  process.exit(2);
}
serve(subject, process.argv.includes('--count-async')).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
