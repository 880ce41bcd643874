import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeelCoreModule, type KeelConfig } from '@keel/core';
import { CoordinationModule } from '@keel/coordination';
import { HealthModule } from '@keel/health';
import { LocksModule } from '@keel/locks';
import { RegistryModule } from '@keel/registry';
import { DemoController } from './demo.controller.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { PaymentsGateway } from './payments/payments.gateway.js';

/** The demo "orders" service, wired to real backends where the configuration names them. */
@Module({})
export class DemoAppModule {
  static register(config: KeelConfig): DynamicModule {
    return {
      module: DemoAppModule,
      imports: [
        KeelCoreModule.forRoot({ config, serviceName: config.serviceName }),
        HealthModule.forRoot({ database: config.databaseUrl !== undefined }),
        CoordinationModule.forRoot({
          policies: {
            // One named policy for everything that talks to the payment provider; the YAML
            // file (KEEL_CONFIG) may override any of it under coordination.policies.payments.
            payments: {
              retry: {
                maxAttempts: 3,
                backoff: 'decorrelated-jitter',
                delayMs: 50,
                maxDelayMs: 500,
              },
              circuitBreaker: {
                name: 'payments',
                // Shared by every replica when REDIS_URL is set; one process's memory otherwise.
                store: 'redis',
                minimumCalls: 5,
                failureRateThreshold: 50,
                openDurationMs: 10_000,
                halfOpenProbes: 2,
              },
              timeout: 1_000,
            },
          },
        }),
        // Locks live in Redis when REDIS_URL is set (shared by every replica), else in memory.
        LocksModule.forRoot({ ttlMs: 10_000, waitMs: 5_000 }),
        RegistryModule.forRoot({
          service: { version: '0.1.0', tags: ['http', 'demo'] },
          checks: { http: { path: '/health/live' } },
          discover: [config.serviceName],
        }),
        ...(config.databaseUrl !== undefined
          ? [
              TypeOrmModule.forRoot({
                type: 'postgres',
                url: config.databaseUrl,
                // Fail fast at boot instead of TypeORM's default of ten retries.
                retryAttempts: 1,
                retryDelay: 500,
                entities: [],
              }),
            ]
          : []),
      ],
      controllers: [OrdersController, DemoController],
      providers: [OrdersService, PaymentsGateway],
    };
  }
}
