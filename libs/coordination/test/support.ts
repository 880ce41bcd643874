import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, loadKeelConfig, type KeelCoreOptions } from '@keel/core';
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
