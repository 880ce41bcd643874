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
