import { KeelError, isKeelError } from '@keel/core';

/**
 * Base of every error @keel/registry throws. Codes:
 * - `KEEL_REGISTRY_NO_INSTANCE`: no eligible instance of the service (none registered, all
 *   critical, draining or ejected, or none matching the filters);
 * - `KEEL_REGISTRY_INVALID_ARGUMENT`: a call is malformed (consistent hashing without a key...);
 * - `KEEL_REGISTRY_UNAVAILABLE`: the registry backend could not be reached for a write.
 * @publicApi
 */
export class RegistryError extends KeelError {}

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
    super('KEEL_REGISTRY_NO_INSTANCE', `No instance of service '${service}' available: ${reason}`);
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
