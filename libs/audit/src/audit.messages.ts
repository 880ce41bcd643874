/**
 * Every message of `@keel/audit`, as small named factories: one place to read and reword them.
 * A message says what went wrong, with the values that identify it, and what to do about it.
 * @internal
 */

/** The startup line naming the store in use. */
export function storeLine(input: { readonly kind: string; readonly where: string }): string {
  return `audit events stored in ${input.kind} (${input.where})`;
}
