import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeelCoreModule, type KeelConfig } from '@keel/core';
import { HealthModule } from '@keel/health';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';

/** The demo "orders" service, wired to real backends where the configuration names them. */
@Module({})
export class DemoAppModule {
  static register(config: KeelConfig): DynamicModule {
    return {
      module: DemoAppModule,
      imports: [
        KeelCoreModule.forRoot({ config, serviceName: config.serviceName }),
        HealthModule.forRoot({ database: config.databaseUrl !== undefined }),
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
      controllers: [OrdersController],
      providers: [OrdersService],
    };
  }
}
