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
