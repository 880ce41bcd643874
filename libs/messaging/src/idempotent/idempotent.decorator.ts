import { RequestContext, type KeyTemplate } from '@keel/core';
import { createPolicyDecorator } from '@keel/core/internal';
import { INBOX_TRANSACTION } from '../messaging.constants.js';
import type { OutboxEntityManager } from '../stores/outbox.store.js';

/** Options of {@link Idempotent}. @publicApi */
export interface IdempotentOptions {
  /**
   * The idempotency key, from the arguments: `'{event.source}:{event.id}'` (a CloudEvent's
   * identity), `'{dto.requestId}'`, `'{0}'`, or a function of the arguments.
   */
  readonly key: KeyTemplate;
  /** How long a completed key is remembered (duplicates within it are skipped). @default `idempotency.ttlMs` */
  readonly ttlMs?: number;
  /** How long a running call holds its key, renewed while it runs. @default `idempotency.leaseMs` */
  readonly leaseMs?: number;
}

/**
 * Runs the method once per key: the first call runs the body; a later call with the same key
 * within `ttlMs` returns `undefined` without running it; a call arriving while the first is
 * still running is refused with `KEEL_MESSAGING_DUPLICATE_IN_PROGRESS` (409, retryable — the
 * messaging server tries it again and then skips it). A body that throws leaves the key free,
 * so a redelivery runs it. The store is `idempotency.store`: Redis (the fleet shares the keys),
 * the PostgreSQL inbox (the key commits in the body's own transaction: read it with
 * {@link inboxTransaction}), or memory.
 *
 * Innermost of Keel's policies: a duplicate is detected under `@WithLock`, after `@Validate`.
 *
 * @example
 * ```ts
 * @EventPattern('payments')
 * @Idempotent({ key: '{event.source}:{event.id}' })
 * async settled(@Payload() event: KeelCloudEvent<Payment>) { ... }
 * ```
 * @publicApi
 */
export function Idempotent(options: IdempotentOptions): MethodDecorator {
  return createPolicyDecorator<IdempotentOptions>('idempotent', options);
}

/**
 * The transaction an `@Idempotent` body runs in when the store is the PostgreSQL inbox: the
 * TypeORM `EntityManager` (with `idempotency.dataSource`) or a manager with `query()` (with a
 * URL). Writes through it commit together with the idempotency key; pass it to
 * `EventBus.publishInTransaction()` to publish in the same transaction. `undefined` elsewhere.
 * @publicApi
 */
export function inboxTransaction<M extends OutboxEntityManager = OutboxEntityManager>():
  M | undefined {
  return RequestContext.getValue<M>(INBOX_TRANSACTION);
}
