import { Inject } from '@nestjs/common';
/**
 * A record as a store returns it: the JSON text, not yet validated (discovery validates every
 * record on read, checks its signature, and ignores malformed ones). The JSON is an object with
 * `body` (the signed {@link InstanceIdentity} JSON), `sig`, `draining`, `health`, `self` and the
 * store-clock times `registeredAt`, `heartbeatAt`, `updatedAt`.
 * @publicApi
 */
export interface RawRecord {
  readonly id: string;
  readonly json: string;
  /** Expiry from the index (server clock, ms). */
  readonly expiresAt: number;
}

/** Full answer for one service. @publicApi */
export interface ServiceSnapshot {
  readonly service: string;
  readonly records: readonly RawRecord[];
  /** Store clock when the answer was read (ms). */
  readonly now: number;
}

/** A change pushed by the store. @publicApi */
export type RegistryEvent =
  | {
      readonly type: 'up';
      readonly service: string;
      readonly record: RawRecord;
      readonly now: number;
    }
  | { readonly type: 'down'; readonly service: string; readonly id: string; readonly now: number };

/**
 * A status field of a record: `draining` (`'true'`/`'false'`, the instance's own), `self` (the
 * instance's custom checks) and `health` (the monitor's active checks).
 * @publicApi
 */
export type StatusField = 'draining' | 'self' | 'health';

/** Outcome of a write: `missing` (no live record), `forbidden` (wrong proof), `fenced` (lost lease). @publicApi */
export type WriteOutcome = 'ok' | 'missing' | 'forbidden' | 'fenced';

/**
 * Backend of the registry. Both implementations (memory, Redis) pass the same contract suite.
 * Every mutation carries `proof`: the first registration of an id stores a hash of it, and
 * later writes to that id must present the same proof (so a process without the shared secret,
 * which derives the proof, cannot overwrite or remove a signed instance).
 *
 * The interface and the DI token share the name `RegistryStore`.
 *
 * The writes keep their positional parameters (up to six): the interface is public and
 * implemented outside Keel, so a parameter object would break every custom store for no gain
 * in behaviour; the skeleton's rule applies to new interfaces.
 * @publicApi
 */
export interface RegistryStore {
  /** Store clock (ms): Redis `TIME`, or `Date.now()` for the memory store. */
  now(): Promise<number>;
  /**
   * Writes the record (server clock fills registration and heartbeat times), indexes it with
   * expiry now + ttl and publishes an `up` event.
   */
  register(
    service: string,
    id: string,
    json: string,
    ttlMs: number,
    proof: string,
  ): Promise<WriteOutcome>;
  /** Extends expiry (no event). `missing` means the record is gone: register again. */
  heartbeat(service: string, id: string, ttlMs: number, proof: string): Promise<WriteOutcome>;
  /**
   * Changes one status field of the record and publishes `up`. `field` `draining` is the
   * instance's own; `health` is the monitor's, accepted only while `fence` holds the monitor
   * lease of that service — or, for a fence `#<n>` (a fencing token of a @keel/locks lease),
   * unless a higher token was already accepted for that service (`fenced`).
   */
  setStatus(
    service: string,
    id: string,
    field: StatusField,
    value: string,
    proof: string,
    fence?: string,
  ): Promise<WriteOutcome>;
  /** Removes the record and publishes `down`. */
  deregister(service: string, id: string, proof: string): Promise<WriteOutcome>;
  /**
   * Removes expired records (publishing `down` for each) and returns the live ones: one atomic
   * step, so a reader never sees an expired record.
   */
  snapshot(service: string): Promise<ServiceSnapshot>;
  /** Names of every service that ever registered (not pruned). */
  services(): Promise<string[]>;
  /**
   * Subscribes to changes of the given services. `onReconnect` is called after the push
   * channel was lost and re-established (the caller then resyncs, as events may be lost).
   */
  subscribe(
    services: readonly string[],
    listener: (event: RegistryEvent) => void,
    onReconnect: () => void,
  ): Promise<RegistrySubscription>;
  /** Takes the service's monitor lease for `owner` if free; returns the fencing token. */
  acquireLease(service: string, owner: string, ttlMs: number): Promise<string | undefined>;
  /** Extends the lease if `token` still holds it. */
  renewLease(service: string, token: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `token` still holds it. */
  releaseLease(service: string, token: string): Promise<void>;
  /** True when the store answers (used by health and staleness reporting). */
  ping(): Promise<boolean>;
  /** Releases connections the store opened itself. */
  close(): Promise<void>;
}

/** A live subscription. @publicApi */
export interface RegistrySubscription {
  /** Adds services to the subscription. */
  add(services: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** DI token of the {@link RegistryStore}. @publicApi */
export const RegistryStore = Symbol('RegistryStore');

/**
 * Injects the {@link RegistryStore} in use (the one `RegistryModule` exports).
 *
 * @example
 * ```ts
 * constructor(@InjectRegistryStore() private readonly store: RegistryStore) {}
 * ```
 * @publicApi
 */
export const InjectRegistryStore = (): PropertyDecorator & ParameterDecorator =>
  Inject(RegistryStore);
