/** Token of the resolved {@link MessagingSettings}. @internal */
export const MESSAGING_SETTINGS = Symbol('KEEL_MESSAGING_SETTINGS');
