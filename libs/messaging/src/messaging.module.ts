import { Module } from '@nestjs/common';
import { MessagingConfigurableModule } from './messaging.module-definition.js';
import { messagingProviders } from './messaging.providers.js';

/**
 * Module shell of @keel/messaging (Kafka messaging with idempotent consumers): it follows the lib skeleton (forRoot /
 * forRootAsync, settings resolved and validated like every Keel module) but has no behaviour
 * yet — its issue has not been taken. Needs `KeelCoreModule.forRoot()`.
 * @publicApi
 */
@Module({ providers: messagingProviders })
export class MessagingModule extends MessagingConfigurableModule {}
