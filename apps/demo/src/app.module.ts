import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AuditModule } from '@keel/audit';
import { KeelCoreModule, type KeelConfig } from '@keel/core';
import { CoordinationModule } from '@keel/coordination';
import { HealthModule } from '@keel/health';
import { LocksModule } from '@keel/locks';
import { MessagingModule, type MessagingConsumerOptions } from '@keel/messaging';
import { RegistryModule } from '@keel/registry';
import { DemoController } from './demo.controller.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { PaymentsGateway } from './payments/payments.gateway.js';

/** The demo "orders" service, wired to real backends where the configuration names them. */
@Module({})
export class DemoAppModule {
  /**
   * @param dataSource the connected database when `config.databaseUrl` is set (the demo connects
   *   before building the application; see `connectDatabase`).
   */
  static register(
    config: KeelConfig,
    dataSource?: DataSource,
    consumer: MessagingConsumerOptions = {},
  ): DynamicModule {
    return {
      module: DemoAppModule,
      imports: [
        KeelCoreModule.forRoot({ config, serviceName: config.serviceName }),
        HealthModule.forRoot({ database: dataSource !== undefined }),
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
                // Shared by every replica when REDIS_URL is set; this process's own otherwise
                // (store: 'redis' without Redis is a startup error).
                store: config.redisUrl === undefined ? 'local' : 'redis',
                minimumCalls: 5,
                failureRateThreshold: 50,
                openDurationMs: 10_000,
                halfOpenProbes: 2,
              },
              timeout: 1_000,
            },
            // The payment provider allows 20 charges a second (10 at once) to this service, not
            // to each replica: with REDIS_URL every replica shares one budget. A charge waits up
            // to 500 ms for its turn — inside the payments timeout of 1 s — instead of failing.
            psp: {
              rateLimit: {
                name: 'psp',
                limit: 20,
                perMs: 1_000,
                burst: 10,
                scope: 'fleet',
                mode: 'wait',
                maxWaitMs: 500,
              },
            },
          },
        }),
        // Locks live in Redis when REDIS_URL is set (shared by every replica), else in memory.
        LocksModule.forRoot({ ttlMs: 10_000, waitMs: 5_000 }),
        // The audit trail: in PostgreSQL through the demo's own DataSource when DATABASE_URL is
        // set, else in the embedded file store (./.keel/audit, or audit.store in KEEL_CONFIG).
        AuditModule.forRoot(
          dataSource !== undefined ? { store: { type: 'postgres', dataSource } } : {},
        ),
        // Events: Kafka when KAFKA_BROKERS is set, else the embedded transport; order.created
        // goes through the transactional outbox when there is a database. @Idempotent keys live
        // in Redis when REDIS_URL is set, else in memory.
        MessagingModule.forRoot({
          ...(dataSource !== undefined ? { outbox: { dataSource } } : {}),
          consumer,
        }),
        RegistryModule.forRoot({
          service: { version: '0.1.0', tags: ['http', 'demo'] },
          checks: { http: { path: '/health/live' } },
          discover: [config.serviceName],
        }),
        ...(dataSource !== undefined
          ? [
              // Already connected, so TypeOrmModule neither connects nor retries; it provides
              // the DataSource (the health module's readiness check finds it) and closes it at
              // shutdown.
              TypeOrmModule.forRootAsync({
                useFactory: () => dataSource.options,
                dataSourceFactory: async () => dataSource,
              }),
            ]
          : []),
      ],
      controllers: [OrdersController, DemoController],
      providers: [OrdersService, PaymentsGateway],
    };
  }
}
