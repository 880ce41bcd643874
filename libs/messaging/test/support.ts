import type { DynamicModule, INestApplication, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { MessagingModule, MessagingServer, type MessagingModuleOptions } from '@keel/messaging';

/** What {@link startMessagingApp} builds. */
export interface MessagingAppSpec {
  readonly messaging: MessagingModuleOptions;
  readonly controllers: readonly Type[];
  readonly providers?: readonly Provider[];
  readonly imports?: readonly DynamicModule[];
  readonly serviceName?: string;
  /** Core's Redis URL; none by default (embedded stores). */
  readonly redis?: string;
  readonly redisKeyPrefix?: string;
}

/**
 * A test application serving its `@EventPattern` handlers on MessagingServer, as a user wires
 * it: hybrid, `inheritAppConfig: true` (so Keel's global interceptor and filter apply), the
 * microservice started before `init()`.
 */
export async function startMessagingApp(spec: MessagingAppSpec): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: spec.serviceName ?? 'orders',
        redis: spec.redis ?? false,
        ...(spec.redisKeyPrefix !== undefined ? { redisKeyPrefix: spec.redisKeyPrefix } : {}),
        config: loadKeelConfig({ env: {} }),
      }),
      MessagingModule.forRoot(spec.messaging),
      ...(spec.imports ?? []),
    ],
    controllers: [...spec.controllers],
    providers: [...(spec.providers ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.init();
  return app;
}
