import type { Provider } from '@nestjs/common';
import { moduleSettingsProvider } from '@keel/core/internal';
import { MESSAGING_SETTINGS } from './messaging.constants.js';
import { MESSAGING_MODULE_OPTIONS } from './messaging.module-definition.js';
import { resolveMessagingSettings } from './messaging.settings.js';

/** @internal */
export const messagingProviders: Provider[] = [
  moduleSettingsProvider({
    provide: MESSAGING_SETTINGS,
    options: MESSAGING_MODULE_OPTIONS,
    resolve: resolveMessagingSettings,
  }),
];
