export { MessagingModule } from './messaging.module.js';
export type { MessagingModuleOptions } from './interfaces/messaging-options.interface.js';
