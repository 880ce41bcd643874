/** Token of the resolved {@link MessagingSettings}. @internal */
export const MESSAGING_SETTINGS = Symbol('KEEL_MESSAGING_SETTINGS');

/** Token of the outbox store (present only when the outbox is enabled). @internal */
export const OUTBOX_STORE = Symbol('KEEL_OUTBOX_STORE');

/** Context key of the inbox transaction a PostgreSQL `@Idempotent` body runs in. @internal */
export const INBOX_TRANSACTION = Symbol('KEEL_INBOX_TRANSACTION');
