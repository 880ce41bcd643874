import { Inject } from '@nestjs/common';
import { MessagingError, isMessagingError } from '../messaging.errors.js';
import { idempotencyStoreFailed } from '../messaging.messages.js';

/**
 * A failure of the store itself (Redis or PostgreSQL unreachable), as the error a caller can
 * act on: `KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE` (503, retryable) instead of a driver's error
 * reaching HTTP as a bare 500. The body's own errors never pass through here.
 * @internal
 */
export function storeUnavailable(error: unknown): MessagingError {
  if (isMessagingError(error)) return error;
  return new MessagingError(
    'KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE',
    idempotencyStoreFailed({ error: error instanceof Error ? error.message : String(error) }),
    { cause: error },
  );
}

/** What {@link IdempotencyStore.run} is asked to do with one key. @internal */
export interface IdempotentRun {
  /** The full key (prefix included). */
  readonly key: string;
  /** How long the completed marker is kept: duplicates within it are skipped. */
  readonly ttlMs: number;
  /** How long a claim holds while the body runs, renewed every third of it. */
  readonly leaseMs: number;
}

/** The outcome of {@link IdempotencyStore.run}. @internal */
export type IdempotentOutcome<T> =
  | { readonly ran: true; readonly value: T }
  | { readonly ran: false; readonly state: 'done' }
  | { readonly ran: false; readonly state: 'running'; readonly retryAfterMs: number };

/**
 * Where `@Idempotent` keeps its keys. `run` calls `body` only if `key` has not completed within
 * its TTL and is not running elsewhere; a body that throws leaves the key free, so a redelivery
 * runs it. Memory and Redis claim the key with a lease (a crash mid-body lets a redelivery run it
 * once the lease expires); PostgreSQL inserts it in the body's own transaction, so the key and the
 * body's writes commit or roll back together.
 * @internal
 */
export interface IdempotencyStore {
  readonly kind: 'memory' | 'redis' | 'postgres';
  run<T>(request: IdempotentRun, body: () => Promise<T>): Promise<IdempotentOutcome<T>>;
  /** Deletes completed keys past their TTL (Redis expires its own). */
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** DI token of the {@link IdempotencyStore} (a store token is named like its interface). @internal */
export const IdempotencyStore = Symbol('IdempotencyStore');

/** Injects the {@link IdempotencyStore}. @internal */
export const InjectIdempotencyStore = (): ParameterDecorator => Inject(IdempotencyStore);

/**
 * The claim-complete-release protocol memory and Redis share: `claim` takes the key for
 * `leaseMs` or says why not; `complete` turns a claim into a completed marker kept `ttlMs`;
 * `release` frees a claim whose body failed; `extend` renews a claim still running.
 * @internal
 */
export interface LeaseBackend {
  claim(
    key: string,
    token: string,
    leaseMs: number,
  ): Promise<{ state: 'claimed' } | { state: 'done' } | { state: 'running'; retryAfterMs: number }>;
  complete(key: string, token: string, ttlMs: number): Promise<void>;
  release(key: string, token: string): Promise<void>;
  extend(key: string, token: string, leaseMs: number): Promise<void>;
}

/**
 * Runs `body` under a claim of `backend`, renewing the lease while it runs. The completed
 * marker is written after the body succeeded; if that write fails the body's result is still
 * returned (it ran), and the claim's lease lapses instead — a duplicate arriving after that runs
 * again, which is logged by the caller.
 * @internal
 */
export async function runWithLease<T>(
  backend: LeaseBackend,
  token: string,
  request: IdempotentRun,
  body: () => Promise<T>,
  onCompleteFailed: (error: unknown) => void,
): Promise<IdempotentOutcome<T>> {
  const claim = await backend.claim(request.key, token, request.leaseMs).catch((error: unknown) => {
    throw storeUnavailable(error);
  });
  if (claim.state === 'done') return { ran: false, state: 'done' };
  if (claim.state === 'running') return { ran: false, ...claim };
  const renew = setInterval(
    () => void backend.extend(request.key, token, request.leaseMs).catch(() => undefined),
    Math.max(1, Math.floor(request.leaseMs / 3)),
  );
  renew.unref?.();
  let value: T;
  try {
    value = await body();
  } catch (error) {
    clearInterval(renew);
    await backend.release(request.key, token).catch(() => undefined);
    throw error;
  }
  clearInterval(renew);
  await backend.complete(request.key, token, request.ttlMs).catch(onCompleteFailed);
  return { ran: true, value };
}
