/**
 * Every message of `@keel/locks`, as small named factories (the @nestjs/schedule
 * `schedule.messages.ts` pattern): one place to read and reword them. A message says what went
 * wrong, with the values that identify it, and what to do about it.
 * @internal
 */

/** The startup line of the embedded store. */
export function memoryStoreLine(): string {
  return 'locks on the embedded memory store: correct for one process only';
}

/** The startup line of quorum mode. */
export function quorumStoreLine(input: { readonly nodes: number }): string {
  return `locks in quorum mode over ${input.nodes} Redis nodes`;
}

/** `LockTimeoutError`: the key and how long the caller waited. */
export function lockTimeout(input: { readonly key: string; readonly waitedMs: number }): string {
  return (
    `lock '${input.key}' was not acquired within ${Math.round(input.waitedMs)} ms: another holder kept it. ` +
    'Raise waitMs, shorten the critical section, or use tryAcquire() to skip the work instead of waiting.'
  );
}

/** `InvalidLockKeyError`: the key and why it cannot be used. */
export function invalidLockKey(input: { readonly key: string; readonly reason: string }): string {
  return `lock key '${input.key}' cannot be used: ${input.reason}`;
}

/** Why an empty or non-string key is refused. */
export function lockKeyNotAString(): string {
  return 'a lock key must be a non-empty string';
}

/** Why a key with a brace is refused. */
export function lockKeyHasBrace(): string {
  return (
    "it contains '{' or '}', which would move the Redis Cluster hash tag Keel wraps every lock " +
    "key in (so that all of a lock's keys share one slot). Build the key from input with " +
    'escapeKeyValue() from @keel/core (it escapes braces as %7B and %7D), or use a key ' +
    "template such as 'order:{orderId}', which escapes its placeholders"
  );
}

/** `DeadlockError`: the key waited for and the wait-for cycle. */
export function deadlock(input: {
  readonly key: string;
  readonly cycle: readonly { readonly chain: string; readonly waitsFor: string }[];
}): string {
  return (
    `deadlock while waiting for lock '${input.key}': ` +
    input.cycle.map((e) => `${e.chain} waits for '${e.waitsFor}'`).join(' → ') +
    ' → back to the first. This call chain was chosen to fail so the others can proceed. ' +
    'Take several locks with acquireMany(), which orders them and cannot deadlock.'
  );
}

/** `LockLostError`: the key and why it was lost. */
export function lockLost(input: { readonly key: string; readonly reason: string }): string {
  return `lock '${input.key}' was lost (${input.reason}); stop writing with its fencing token`;
}

/** `LockQuorumError`: the key, the majority needed and every node that failed. */
export function quorumUnavailable(input: {
  readonly key: string;
  readonly needed: number;
  readonly failures: readonly string[];
}): string {
  return `lock '${input.key}': a majority of ${input.needed} Redis nodes is needed but ${input.failures.length} failed (${input.failures.join('; ')}); not waiting, since the lock cannot be granted until they are back`;
}

/** `StaleFencingTokenError`: the resource and the rejected token. */
export function staleFencingToken(input: {
  readonly resource: string;
  readonly fencingToken: number;
}): string {
  return (
    `write to ${input.resource} with fencing token ${input.fencingToken} was rejected: a newer lock holder has written since. ` +
    'This holder lost its lock; abandon the work.'
  );
}

/** `FencedRowNotFoundError`: the entity, the criteria and the token. */
export function fencedRowNotFound(input: {
  readonly resource: string;
  readonly criteria: string;
  readonly fencingToken: number;
}): string {
  return (
    `fenced write to ${input.resource} with fencing token ${input.fencingToken} changed nothing: no ${input.resource} row matches ${input.criteria}. ` +
    'The lock is not the problem; check the criteria, or insert the row first.'
  );
}

/** `fencedUpdate` was given a fence column the entity does not have. */
export function fenceColumnMissing(input: {
  readonly property: string;
  readonly entity: string;
  readonly columns: readonly string[];
}): string {
  return (
    `fencedUpdate: fence column '${input.property}' is not a column of ${input.entity} (columns: ` +
    `${input.columns.join(', ')}); pass the entity property of a bigint column as { column }`
  );
}

/** A lock asked for after `beforeApplicationShutdown`. */
export function serviceShutDown(input: { readonly key: string }): string {
  return `LockService is shut down; cannot acquire '${input.key}'`;
}

/** The store's connection is not usable (a health detail): `connection reconnecting`. */
export function connectionUnusable(input: { readonly state: string }): string {
  return `connection ${input.state}`;
}

/** A store asked to subscribe after it was closed. */
export function storeClosed(): string {
  return 'lock store closed';
}

/** Semaphores or read-write locks on a store without them (quorum). */
export function semaphoresUnsupported(input: {
  readonly key: string;
  readonly store: string;
}): string {
  return `'${input.key}': semaphores and read-write locks are not available on the ${input.store} store; use the redis or memory store`;
}

/** `semaphore(key, permits)` with a count that is not a positive integer. */
export function invalidPermits(input: { readonly key: string; readonly permits: number }): string {
  return `semaphore '${input.key}': permits must be a positive integer, got ${input.permits}`;
}

/** The warning when releasing at the end of `using()` fails (the hold then expires by TTL). */
export function releaseFailed(input: { readonly key: string; readonly error: string }): string {
  return `releasing lock '${input.key}' failed: ${input.error}; it expires by TTL`;
}

/** The warning when a held lock is lost. */
export function lockLostWarning(input: {
  readonly key: string;
  readonly reason: string;
  readonly fencingToken: number;
}): string {
  return `lock '${input.key}' lost (${input.reason}), fencing token ${input.fencingToken}`;
}
