import { KeelError, isKeelError, type KeelErrorCodes } from '@keel/core';
import {
  deadlock,
  fencedRowNotFound,
  invalidLockKey,
  lockLost,
  lockTimeout,
  quorumUnavailable,
  staleFencingToken,
} from './locks.messages.js';

/**
 * The error codes of `@keel/locks`, with the HTTP status Keel's exception filter answers with.
 * @publicApi
 */
export const LOCKS_ERRORS = {
  KEEL_LOCK_TIMEOUT: {
    status: 409,
    meaning: 'a lock was not acquired within its wait time: another holder kept it',
  },
  KEEL_LOCK_DEADLOCK: {
    status: 409,
    meaning: 'waiting would never end (a wait-for cycle); this call chain was chosen to fail',
  },
  KEEL_LOCK_LOST: {
    status: 409,
    meaning: 'a held lock was lost before release (expired, or the store lost the hold)',
  },
  KEEL_LOCK_STALE_FENCING_TOKEN: {
    status: 409,
    meaning: 'a fenced write was rejected: a newer lock holder has written since',
  },
  KEEL_LOCK_FENCED_ROW_NOT_FOUND: {
    status: 404,
    meaning: 'a fenced write found no row for its criteria (not a lost lock)',
  },
  KEEL_LOCK_QUORUM_UNAVAILABLE: {
    status: 503,
    meaning: 'quorum mode could not reach a majority of its Redis nodes',
  },
  KEEL_LOCKS_SHUT_DOWN: {
    status: 503,
    meaning: 'the lock service is shutting down and takes no new locks',
  },
  KEEL_LOCK_KEY_INVALID: {
    status: 500,
    meaning: "a lock key is empty or contains '{' or '}' (a programming error: escape the key)",
  },
  KEEL_LOCKS_UNSUPPORTED: {
    status: 500,
    meaning: 'the configured store cannot do this (semaphores on the quorum store)',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link LOCKS_ERRORS}. @publicApi */
export type LocksErrorCode = keyof typeof LOCKS_ERRORS;

/**
 * Base of every error `@keel/locks` throws; takes its HTTP status from {@link LOCKS_ERRORS}.
 * @publicApi
 */
export class LocksError extends KeelError {
  constructor(code: LocksErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: LOCKS_ERRORS[code].status });
  }
}

/**
 * A lock could not be acquired within its wait time. Names the key and how long the caller
 * waited, so a log line alone says which lock was contended.
 * @publicApi
 */
export class LockTimeoutError extends LocksError {
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super('KEEL_LOCK_TIMEOUT', lockTimeout({ key, waitedMs }));
  }
}

/** True when `error` is a {@link LockTimeoutError}. @publicApi */
export function isLockTimeoutError(error: unknown): error is LockTimeoutError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_TIMEOUT';
}

/**
 * A lock key cannot be used: it is empty, or it contains `{` or `}`. Every store keeps a lock
 * under its key wrapped in one Redis Cluster `{hash tag}`, so that all of the lock's Redis keys
 * (hold, fence counter, queue) share one slot; a brace in the key would move that tag. Build
 * keys from input with `escapeKeyValue()` from `@keel/core`, or use a key template, which escapes
 * its placeholders. Refused on every store, so a key behaves the same in memory and on Redis.
 * @publicApi
 */
export class InvalidLockKeyError extends LocksError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super('KEEL_LOCK_KEY_INVALID', invalidLockKey({ key, reason }));
  }
}

/** True when `error` is an {@link InvalidLockKeyError}. @publicApi */
export function isInvalidLockKeyError(error: unknown): error is InvalidLockKeyError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_KEY_INVALID';
}

/**
 * One edge of a wait-for cycle: `holder` holds `key`... and waits for the next edge's key.
 * @publicApi
 */
export interface DeadlockEdge {
  /** Id of the call chain (a `using` / `@WithLock` scope) that waits. */
  readonly chain: string;
  /** The key it waits for. */
  readonly waitsFor: string;
}

/**
 * Waiting for this lock would never end: its holder (directly or through others) waits for a
 * lock this call chain holds. One member of the cycle is chosen, deterministically, to fail
 * with this error so the others can proceed.
 * @publicApi
 */
export class DeadlockError extends LocksError {
  constructor(
    readonly key: string,
    readonly cycle: readonly DeadlockEdge[],
  ) {
    super('KEEL_LOCK_DEADLOCK', deadlock({ key, cycle }));
  }
}

/** True when `error` is a {@link DeadlockError}. @publicApi */
export function isDeadlockError(error: unknown): error is DeadlockError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_DEADLOCK';
}

/** Why a held lock was lost. @publicApi */
export type LockLostReason = 'renewal-rejected' | 'expired' | 'store-unreachable';

/**
 * A held lock was lost before it was released: the store no longer lists this holder (it
 * expired, or the store lost its data), or the store stayed unreachable past the lock's validity.
 * It is the `reason` of `lock.signal` when the signal aborts.
 * @publicApi
 */
export class LockLostError extends LocksError {
  constructor(
    readonly key: string,
    readonly reason: LockLostReason,
    options?: { cause?: unknown },
  ) {
    super('KEEL_LOCK_LOST', lockLost({ key, reason }), options);
  }
}

/** True when `error` is a {@link LockLostError}. @publicApi */
export function isLockLostError(error: unknown): error is LockLostError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_LOST';
}

/**
 * Quorum mode could not reach a majority of its nodes. Lists every node that failed and why,
 * rather than redlock's opaque "unable to achieve a quorum".
 * @publicApi
 */
export class LockQuorumError extends LocksError {
  constructor(
    readonly key: string,
    readonly needed: number,
    readonly failures: readonly string[],
  ) {
    super('KEEL_LOCK_QUORUM_UNAVAILABLE', quorumUnavailable({ key, needed, failures }));
  }
}

/** True when `error` is a {@link LockQuorumError}. @publicApi */
export function isLockQuorumError(error: unknown): error is LockQuorumError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_QUORUM_UNAVAILABLE';
}

/**
 * A fenced write was rejected: the resource already saw a write with this or a higher fencing
 * token, so the writer's lock had been lost and someone else has since held it.
 * @publicApi
 */
export class StaleFencingTokenError extends LocksError {
  constructor(
    readonly resource: string,
    readonly fencingToken: number,
  ) {
    super('KEEL_LOCK_STALE_FENCING_TOKEN', staleFencingToken({ resource, fencingToken }));
  }
}

/** True when `error` is a {@link StaleFencingTokenError}. @publicApi */
export function isStaleFencingTokenError(error: unknown): error is StaleFencingTokenError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_STALE_FENCING_TOKEN';
}

/**
 * A fenced write found no row at all for its criteria: nothing was written, and no token was
 * compared. Unlike {@link StaleFencingTokenError} this is not a lost lock: the row was deleted,
 * never existed, or the criteria are wrong.
 * @publicApi
 */
export class FencedRowNotFoundError extends LocksError {
  constructor(
    readonly resource: string,
    readonly criteria: string,
    readonly fencingToken: number,
  ) {
    super(
      'KEEL_LOCK_FENCED_ROW_NOT_FOUND',
      fencedRowNotFound({ resource, criteria, fencingToken }),
    );
  }
}

/** True when `error` is a {@link FencedRowNotFoundError}. @publicApi */
export function isFencedRowNotFoundError(error: unknown): error is FencedRowNotFoundError {
  return isKeelError(error) && error.code === 'KEEL_LOCK_FENCED_ROW_NOT_FOUND';
}
