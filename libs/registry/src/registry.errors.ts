import { KeelError, isKeelError, type KeelErrorCodes } from '@keel/core';
import { noInstanceAvailable } from './registry.messages.js';

/**
 * The error codes of `@keel/registry`, with the HTTP status Keel's exception filter answers with.
 * @publicApi
 */
export const REGISTRY_ERRORS = {
  KEEL_REGISTRY_NO_INSTANCE: {
    status: 503,
    meaning: 'no eligible instance of the service (none registered, all critical/draining/ejected)',
  },
  KEEL_REGISTRY_INVALID_ARGUMENT: {
    status: 500,
    meaning:
      'a discovery call is malformed (consistent hashing without a key…): a programming error',
  },
  KEEL_REGISTRY_UNAVAILABLE: {
    status: 503,
    meaning: 'the registry backend could not be reached for a write',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link REGISTRY_ERRORS}. @publicApi */
export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

/**
 * Base of every error `@keel/registry` throws; takes its HTTP status from
 * {@link REGISTRY_ERRORS}.
 * @publicApi
 */
export class RegistryError extends KeelError {
  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: REGISTRY_ERRORS[code].status });
  }
}

/** True when `error` is any {@link RegistryError} (from any copy of the package). @publicApi */
export function isRegistryError(error: unknown): error is RegistryError {
  return isKeelError(error) && error.code.startsWith('KEEL_REGISTRY_');
}

/**
 * No instance of the service can be chosen. Map it to HTTP 503 at the edge.
 * @publicApi
 */
export class NoInstanceAvailableError extends RegistryError {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super('KEEL_REGISTRY_NO_INSTANCE', noInstanceAvailable({ service, reason }));
  }
}

/** True when `error` is a {@link NoInstanceAvailableError}. @publicApi */
export function isNoInstanceAvailableError(error: unknown): error is NoInstanceAvailableError {
  return isKeelError(error) && error.code === 'KEEL_REGISTRY_NO_INSTANCE';
}

/** A discovery call is malformed. @publicApi */
export class RegistryArgumentError extends RegistryError {
  constructor(message: string) {
    super('KEEL_REGISTRY_INVALID_ARGUMENT', message);
  }
}

/**
 * The registry backend could not be reached for a write (registration, heartbeat, deregistration).
 * @publicApi
 */
export class RegistryUnavailableError extends RegistryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEEL_REGISTRY_UNAVAILABLE', message, options);
  }
}
