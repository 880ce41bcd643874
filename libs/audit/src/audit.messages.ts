/**
 * Every message of `@keel/audit`, as small named factories: one place to read and reword them.
 * A message says what went wrong, with the values that identify it, and what to do about it.
 * @internal
 */

/** The startup line naming the store in use. */
export function storeLine(input: { readonly kind: string; readonly where: string }): string {
  return `audit events stored in ${input.kind} (${input.where})`;
}

/** The file store's directory is held by another live process. */
export function fileStoreLocked(input: {
  readonly directory: string;
  readonly pid: number;
}): string {
  return (
    `the audit file store ${input.directory} is in use by process ${input.pid}: the file store ` +
    'serves one process. Give each process its own directory, or use PostgreSQL (DATABASE_URL) for several.'
  );
}

/** A TypeORM DataSource was given whose driver has no pg pool to share. */
export function dataSourceWithoutPool(): string {
  return (
    "the DataSource given to AuditModule is not a TypeORM 'postgres' DataSource with an initialized pg pool; " +
    "pass an initialized postgres DataSource, or store: { type: 'postgres', url }"
  );
}

/** Neither a URL nor a DataSource for the PostgreSQL store. */
export function postgresStoreUnconfigured(): string {
  return 'the PostgreSQL audit store needs a url (DATABASE_URL) or a dataSource; neither was given';
}

/** A query cursor that this service did not issue (or that was cut or altered). */
export function invalidCursor(): string {
  return 'the cursor is not one this service issued: pass the nextCursor of the previous page unchanged, or leave it out to start over';
}

/** One problem of a query filter. */
export function invalidFilter(input: { readonly field: string; readonly problem: string }): string {
  return `audit filter ${input.field}: ${input.problem}`;
}

// --- capture, writer, @Audited ---

/** An event passed to record() is malformed. */
export function invalidEvent(input: { readonly field: string; readonly problem: string }): string {
  return `audit event rejected: ${input.field} ${input.problem}`;
}

/** A transactional record() on a store without transactions. */
export function transactionsUnsupported(input: { readonly kind: string }): string {
  return `record(event, { manager }) needs the PostgreSQL store; the ${input.kind} store has no transactions — record without a manager, or use store: { type: 'postgres' }`;
}

/** record() after shutdown began. */
export function writerShutDown(): string {
  return 'the audit writer is shutting down and takes no new events; record before beforeApplicationShutdown';
}

/** A sync-mode record() whose batch did not commit in time. */
export function syncTimeout(input: {
  readonly waitedMs: number;
  readonly lastError: string;
}): string {
  return `audit event not committed within ${input.waitedMs} ms (last store error: ${input.lastError}); it stays buffered and is retried`;
}

/** A batch failed and will be retried. */
export function batchFailed(input: {
  readonly size: number;
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: string;
}): string {
  return `audit batch of ${input.size} events failed (attempt ${input.attempt}): ${input.error}; retrying in ${input.delayMs} ms`;
}

/** The first drop of a burst. */
export function eventsDropping(input: { readonly bufferSize: number }): string {
  return `audit buffer full (${input.bufferSize} events): dropping new events (writer.onFull 'drop'); counted in keel_audit_events_dropped_total`;
}

/** The end of a drop burst. */
export function eventsDropped(input: { readonly count: number }): string {
  return `audit buffer has room again; ${input.count} events were dropped`;
}

/** A commit listener failed (the events are stored anyway). */
export function listenerFailed(input: { readonly error: string }): string {
  return `an audit commit listener failed (the events are stored): ${input.error}`;
}

/** Shutdown could not drain the buffer in time. */
export function drainIncomplete(input: {
  readonly left: number;
  readonly timeoutMs: number;
}): string {
  return `audit writer stopped with ${input.left} events not stored: the store did not take them within drainTimeoutMs (${input.timeoutMs} ms)`;
}

/** Draining the pending (transactional) table failed. */
export function pendingDrainFailed(input: { readonly error: string }): string {
  return `draining pending transactional audit events failed (retried next flush): ${input.error}`;
}

/** @Audited could not record its event; the method's outcome is unchanged. */
export function auditedRecordFailed(input: {
  readonly label: string;
  readonly error: string;
}): string {
  return `@Audited on ${input.label} could not record its event: ${input.error}`;
}

/** @Audited misuse found at boot. */
export function auditedInvalid(input: {
  readonly label: string;
  readonly problem: string;
}): string {
  return `@Audited on ${input.label}: ${input.problem}`;
}

/** The PostgreSQL store's optional peers are not installed. */
export function missingPostgresPeers(input: { readonly missing: string }): string {
  return (
    `the PostgreSQL audit store needs the packages pg and pg-copy-streams (optional peers of @keel/audit; ` +
    `${input.missing} is not installed): npm install pg pg-copy-streams — or use store: { type: 'file' } without DATABASE_URL`
  );
}

// --- spool ---

/** A second process (or writer) opened a spool directory. */
export function spoolLocked(input: { readonly directory: string; readonly pid: number }): string {
  return `the audit spool ${input.directory} is in use by process ${input.pid}: give each process its own writer.spoolDirectory`;
}

/** Writing an event to the spool failed: it was not acknowledged. */
export function spoolWriteFailed(input: {
  readonly directory: string;
  readonly error: string;
}): string {
  return `audit event not acknowledged: writing it to the spool ${input.directory} failed (${input.error})`;
}

/** Events found in the spool at startup, written again. */
export function spoolReplaying(input: {
  readonly count: number;
  readonly directory: string;
}): string {
  return `audit spool ${input.directory}: ${input.count} acknowledged events were not confirmed stored before the last stop; writing them now (ids already stored are skipped)`;
}

/** A spool line that is not an event (not the torn last line of a crash). */
export function spoolLineUnreadable(input: {
  readonly file: string;
  readonly line: number;
}): string {
  return `audit spool ${input.file}: line ${input.line} is not an event and was skipped`;
}
