import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  KeelCoreModule,
  loadKeelConfig,
  RedisConnectionFactory,
  type KeelCoreOptions,
  type KeelRedisOptions,
} from '@keel/core';
import { CoordinationModule, type CoordinationModuleOptions } from '@keel/coordination';

/** Boots a small fixture application with Keel core and the coordination module. */
export async function bootApp(
  metadata: ModuleMetadata,
  options: {
    core?: KeelCoreOptions;
    coordination?: CoordinationModuleOptions;
    listen?: boolean;
  } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({
        config: loadKeelConfig({ env: {} }),
        redis: false,
        ...options.core,
      }),
      CoordinationModule.forRoot(options.coordination ?? {}),
      ...(metadata.imports ?? []),
    ],
    providers: metadata.providers,
    controllers: metadata.controllers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Waits `ms` or until `signal` aborts, leaving no timer behind. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

/** A promise and the function that resolves it: a test's barrier on something happening. */
export interface Barrier<T = void> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

/** A new {@link Barrier}. */
export function barrier<T = void>(): Barrier<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Watches `app`'s shared Redis connection for fleet-bulkhead slot requests that Redis refused
 * (the acquire script answered 0: every slot of the fleet is taken). `next()` resolves at the
 * next refusal from now on. The connection is the application's own; only its replies are read.
 */
export function slotRefusals(
  app: INestApplication,
  redis: KeelRedisOptions,
): { next(): Promise<void> } {
  const client = app.get(RedisConnectionFactory).client(redis, 'coordination');
  const waiting: (() => void)[] = [];
  const watch = (name: 'evalsha' | 'eval') => {
    const original = (client[name] as unknown as ScriptCall).bind(client);
    const watched: ScriptCall = (...args) => {
      const reply = original(...args);
      // EVALSHA/EVAL script numkeys key ...: the bulkhead's key names it.
      if (String(args[2]).includes(':bulkhead:')) {
        reply.then(
          (value) => {
            if (value === 0) for (const resolve of waiting.splice(0)) resolve();
          },
          () => undefined,
        );
      }
      return reply;
    };
    (client as unknown as Record<typeof name, ScriptCall>)[name] = watched;
  };
  watch('evalsha');
  watch('eval');
  return { next: () => new Promise<void>((resolve) => waiting.push(resolve)) };
}
