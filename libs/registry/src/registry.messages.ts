/**
 * Every message of `@keel/registry`, as small named factories (the @nestjs/schedule
 * `schedule.messages.ts` pattern): one place to read and reword them. No factory takes the
 * shared secret or a connection string, so neither can reach a log line or an error.
 * @internal
 */

/** The startup line of a registry on the embedded memory store. */
export function memoryStoreLine(): string {
  return 'registry on the embedded memory store: correct for one process only (configure Redis for a fleet)';
}

/** `choose()` found no eligible instance; `reason` says why. */
export function noInstanceAvailable(input: {
  readonly service: string;
  readonly reason: string;
}): string {
  return `No instance of service '${input.service}' available: ${input.reason}`;
}

/** The reason of {@link noInstanceAvailable} when the service's list was read. */
export function noneEligible(input: {
  readonly known: number;
  readonly filtered: boolean;
}): string {
  return `${input.known} known, none eligible${input.filtered ? ' for the filters' : ''}`;
}

/** The reason of {@link noInstanceAvailable} before the service's first answer. */
export function serviceNotLoaded(): string {
  return 'the service is not loaded yet (list it in `discover` or await refresh())';
}

/** `choose(name, { strategy: 'consistent-hash' })` without `key`. */
export function consistentHashNeedsKey(input: { readonly service: string }): string {
  return `choose('${input.service}'): the consistent-hash strategy needs a key`;
}

/** `choose()` with a strategy that is not a {@link BalancingStrategy}. */
export function unknownStrategy(input: {
  readonly service: string;
  readonly strategy: string;
}): string {
  return `choose('${input.service}'): unknown strategy '${input.strategy}'`;
}

/** A TCP client asked for a named port the chosen instance does not declare. */
export function noSuchPort(input: {
  readonly id: string;
  readonly service: string;
  readonly port: string | undefined;
}): string {
  return `instance ${input.id} of '${input.service}' declares no port '${input.port}'`;
}

/** The problem of `heartbeatMs >= ttlMs` (a record would expire between two heartbeats). */
export function heartbeatNotBelowTtl(input: { readonly ttlMs: number }): string {
  return `must be less than ttlMs (${input.ttlMs})`;
}

/** The problem of `outlier.maxEjectMs < outlier.ejectMs`. */
export function maxEjectBelowEject(): string {
  return 'must be at least ejectMs';
}

/** The problem of `checks` on a discovery-only application. */
export function checksNeedService(): string {
  return 'checks need `service` (this instance registers nothing)';
}

/** A registering application without an HTTP server and without a full `address`. */
export function addressNeeded(): string {
  return 'RegistryModule.address (forRoot): this application has no HTTP server; give address.host and address.port';
}

/** Passive outlier ejection took an instance out of this process's pool. */
export function instanceEjected(input: { readonly id: string; readonly service: string }): string {
  return `instance ${input.id} of '${input.service}' ejected locally after repeated failures`;
}

/** The store's push channel could not be opened; discovery retries on the next resync. */
export function pushChannelUnavailable(input: { readonly error: string }): string {
  return `registry push channel unavailable (will retry): ${input.error}`;
}

/** A read failed: the caches serve their last known good lists, flagged stale. */
export function registryUnreachable(input: { readonly error: string }): string {
  return `registry unreachable, serving cached lists: ${input.error}`;
}

/** The first successful read after {@link registryUnreachable}. */
export function registryReachable(): string {
  return 'registry reachable again';
}

/** The health-check monitor could not renew its lease: another instance monitors now. */
export function monitorLeaseLost(input: { readonly service: string }): string {
  return `lost the monitor lease of '${input.service}'`;
}

/** The health-check monitor took the lease of its service. */
export function monitoring(input: { readonly service: string; readonly lease: string }): string {
  return `monitoring '${input.service}' (lease ${input.lease})`;
}

/** The monitor published a new verdict of an instance. */
export function instanceJudged(input: {
  readonly id: string;
  readonly service: string;
  readonly result: string;
}): string {
  return `instance ${input.id} of '${input.service}' is ${input.result}`;
}

/** This instance registered (or registered again after its record was gone). */
export function registered(input: {
  readonly again: boolean;
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly port: number;
}): string {
  return `${input.again ? 're-registered' : 'registered'} ${input.id} of '${input.service}' at ${input.host}:${input.port}`;
}

/** The registry refused a write of this instance (`forbidden`: a wrong secret). */
export function registrationRefused(input: {
  readonly id: string;
  readonly outcome: string;
}): string {
  return `registration of ${input.id} refused by the registry: ${input.outcome}`;
}

/** A heartbeat or registration write failed (the first of a series). */
export function heartbeatFailed(input: { readonly error: string }): string {
  return `heartbeat failed: ${input.error}`;
}

/** The custom checks' verdict could not be written. */
export function customStatusFailed(input: { readonly error: string }): string {
  return `could not publish custom check status: ${input.error}`;
}

/** This instance deregistered at shutdown. */
export function deregistered(input: { readonly id: string; readonly service: string }): string {
  return `instance ${input.id} of '${input.service}' deregistered`;
}

/** Deregistration at shutdown failed: the record expires after its TTL instead. */
export function deregisterFailed(input: {
  readonly id: string;
  readonly service: string;
  readonly error: string;
}): string {
  return `could not deregister ${input.id} of '${input.service}' (it will expire): ${input.error}`;
}
