import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { InvalidTenantError } from '../core.errors.js';

/** Who and what a unit of work belongs to: an HTTP request, a Kafka message, a job. @publicApi */
export interface RequestInfo {
  /** Id that follows the work across services (`x-correlation-id`). */
  readonly correlationId: string;
  /** W3C `traceparent` received with the work, passed through unchanged. */
  readonly traceparent?: string;
  /** Tenant the work is for, when the service is multi-tenant. */
  readonly tenant?: string;
  /**
   * Authenticated principal. Resolved lazily, because auth guards run after the context is
   * opened: a getter, so `{ ...info }` leaves it out (`JSON.stringify(info)` keeps it).
   */
  readonly actor?: string;
  /** Client address as the HTTP server saw it (`req.ip`; honours Express `trust proxy`). */
  readonly ip?: string;
  /** The `user-agent` header, cut to {@link MAX_USER_AGENT_LENGTH} characters. */
  readonly userAgent?: string;
}

/** Longest `ip` kept in request info (an IPv6 address with a zone fits). @internal */
export const MAX_IP_LENGTH = 64;
/** Longest `userAgent` kept in request info: real agents are far shorter; the rest is noise. @internal */
export const MAX_USER_AGENT_LENGTH = 512;

/**
 * One frame of the call context. Frames form a chain so that nested calls can add values
 * (the current lock, a timeout's signal) without copying their parent's.
 */
interface ContextFrame {
  readonly request: RequestInfo | undefined;
  readonly parent: ContextFrame | undefined;
  readonly key: symbol | undefined;
  readonly value: unknown;
}

// Stateless apart from the per-call frames it carries, so sharing one storage between two
// applications in one process leaks nothing between them.
const storage = new AsyncLocalStorage<ContextFrame>();

const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:\-/+=]{1,128}$/;
/**
 * Tighter than a correlation id: a tenant names whose data the work touches and feeds keys and
 * audit events, so no ':' '/' '{' or '}' that could splice into a key or path.
 */
const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Request context on AsyncLocalStorage: correlation id, actor and tenant from the HTTP request
 * or message headers, readable in any code that runs for that request, across awaits and timers.
 *
 * @example
 * ```ts
 * this.logger.log(`charging (correlation ${RequestContext.correlationId()})`);
 * ```
 * @publicApi
 */
export const RequestContext = {
  /** The request info of the current unit of work, or `undefined` outside one. */
  current(): RequestInfo | undefined {
    return storage.getStore()?.request;
  },

  /** The current correlation id, or `undefined` outside a request. */
  correlationId(): string | undefined {
    return storage.getStore()?.request?.correlationId;
  },

  /** The current actor, or `undefined`. */
  actor(): string | undefined {
    return storage.getStore()?.request?.actor;
  },

  /** The current tenant, or `undefined`. */
  tenant(): string | undefined {
    return storage.getStore()?.request?.tenant;
  },

  /**
   * Runs `fn` as a new unit of work with `info` (a correlation id is generated when missing).
   * Everything `fn` awaits or schedules sees this context.
   */
  run<T>(info: Partial<RequestInfo>, fn: () => T): T {
    const request = info instanceof BuiltRequestInfo ? info : createRequestInfo(info);
    return storage.run({ request, parent: undefined, key: undefined, value: undefined }, fn);
  },

  /**
   * Runs `fn` with `key` bound to `value` on top of the current context. Used by policies to
   * expose per-call values (the held lock, a timeout's signal) to the method they wrap.
   */
  runWithValue<T>(key: symbol, value: unknown, fn: () => T): T {
    const parent = storage.getStore();
    return storage.run({ request: parent?.request, parent, key, value }, fn);
  },

  /** The innermost value bound to `key`, or `undefined`. */
  getValue<T>(key: symbol): T | undefined {
    for (let frame = storage.getStore(); frame !== undefined; frame = frame.parent) {
      if (frame.key === key) return frame.value as T;
    }
    return undefined;
  },

  /** True when a correlation id is acceptable as given (short, no control characters). */
  isValidCorrelationId(value: string): boolean {
    return CORRELATION_ID_PATTERN.test(value);
  },

  /** True when a tenant id is acceptable: 1 to 128 characters of `A-Z a-z 0-9 . _ -`. */
  isValidTenant(value: string): boolean {
    return TENANT_PATTERN.test(value);
  },
};

/**
 * Opens a new unit of work with `info` and calls `next` in it: what the HTTP middleware runs on
 * every request, so it is `run()` without the checks and without a closure.
 * @internal
 */
export function enterRequestContext(info: RequestInfo, next: () => void): void {
  storage.run({ request: info, parent: undefined, key: undefined, value: undefined }, next);
}

/**
 * Builds request info, generating a correlation id when the given one is missing or unsafe. A
 * tenant cannot be made up the same way: an invalid one refuses the work.
 * @throws InvalidTenantError when `tenant` is given and is not a valid tenant id.
 */
export function createRequestInfo<S = undefined>(
  info: Partial<RequestInfo> & {
    /**
     * Reads the actor, called with `actorSource` on first use: guards that authenticate run
     * after the context is opened. A function and its source rather than a closure, so that
     * the middleware allocates nothing more per request.
     */
    actorResolver?: (source: S) => string | undefined;
    actorSource?: S;
  },
): RequestInfo {
  const correlationId =
    info.correlationId !== undefined && CORRELATION_ID_PATTERN.test(info.correlationId)
      ? info.correlationId
      : randomUUID();
  if (info.tenant !== undefined && !TENANT_PATTERN.test(info.tenant)) {
    throw new InvalidTenantError(info.tenant);
  }
  return new BuiltRequestInfo(
    correlationId,
    info.traceparent,
    info.tenant,
    info.actor,
    info.actorResolver as ((source: unknown) => string | undefined) | undefined,
    info.actorSource,
    cut(info.ip, MAX_IP_LENGTH),
    cut(info.userAgent, MAX_USER_AGENT_LENGTH),
  );
}

// Slices only when too long, so the common case allocates nothing.
function cut(value: string | undefined, max: number): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length > max ? value.slice(0, max) : value;
}

/** Request info made by {@link createRequestInfo}: `run()` takes it as it is (lazy actor kept). */
class BuiltRequestInfo implements RequestInfo {
  #actor: string | undefined;
  #resolve: ((source: unknown) => string | undefined) | undefined;
  #source: unknown;

  constructor(
    readonly correlationId: string,
    readonly traceparent: string | undefined,
    readonly tenant: string | undefined,
    actor: string | undefined,
    resolve: ((source: unknown) => string | undefined) | undefined,
    source: unknown,
    readonly ip: string | undefined,
    readonly userAgent: string | undefined,
  ) {
    this.#actor = actor;
    this.#resolve = actor === undefined ? resolve : undefined;
    this.#source = source;
  }

  get actor(): string | undefined {
    // Read on first use; once seen, the actor stays fixed for the rest of the unit of work.
    if (this.#resolve === undefined) return this.#actor;
    const actor = this.#resolve(this.#source);
    if (actor !== undefined) {
      this.#actor = actor;
      this.#resolve = undefined;
      this.#source = undefined;
    }
    return actor;
  }

  toJSON(): RequestInfo {
    return {
      correlationId: this.correlationId,
      traceparent: this.traceparent,
      tenant: this.tenant,
      actor: this.actor,
      ip: this.ip,
      userAgent: this.userAgent,
    };
  }
}
