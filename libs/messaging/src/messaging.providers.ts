import type { Provider } from '@nestjs/common';
import { type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { MESSAGING_SETTINGS } from './messaging.constants.js';
import { MESSAGING_MODULE_OPTIONS } from './messaging.module-definition.js';
import type { MessagingModuleOptions } from './interfaces/messaging-options.interface.js';
import { resolveMessagingSettings } from './messaging.settings.js';

/** @internal */
export const messagingProviders: Provider[] = [
  {
    provide: MESSAGING_SETTINGS,
    useFactory: (options: MessagingModuleOptions, core: KeelCoreSettings) =>
      resolveMessagingSettings(options, core),
    inject: [MESSAGING_MODULE_OPTIONS, KEEL_CORE_SETTINGS],
  },
];
