/**
 * Options of `MessagingModule.forRoot()`. The module is a shell today: it has no options of its own
 * yet, and accepts only the module-definition extras (`isGlobal`).
 * @publicApi
 */
export type MessagingModuleOptions = Readonly<Record<never, never>>;

/** The settings in force. @internal */
export type MessagingSettings = Readonly<Record<never, never>>;
