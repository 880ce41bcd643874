import { KeelError, isKeelError, type KeelErrorCodes } from '@keel/core';
import { unexpectedPingReply } from './health.messages.js';

/**
 * The error codes of `@keel/health`, with the HTTP status Keel's exception filter answers with.
 * A failing readiness check is not an error of this table: it is reported `down` in the
 * `/health/ready` body (Terminus answers 503). Configuration problems (`redis: true` without
 * Redis, `database: true` without a DataSource) are `KeelConfigError`s at startup.
 * @publicApi
 */
export const HEALTH_ERRORS = {
  KEEL_HEALTH_PROBE_FAILED: {
    status: 503,
    meaning: 'a readiness probe got an answer it cannot accept (Redis answered PING without PONG)',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link HEALTH_ERRORS}. @publicApi */
export type HealthErrorCode = keyof typeof HEALTH_ERRORS;

/**
 * Base of every error `@keel/health` throws; takes its HTTP status from {@link HEALTH_ERRORS}.
 * @publicApi
 */
export class HealthError extends KeelError {
  constructor(code: HealthErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: HEALTH_ERRORS[code].status });
  }
}

/**
 * A backend answered a readiness probe, but not as a healthy one does (Redis answered PING with
 * something else than PONG). The check reports `down` with this message.
 * @publicApi
 */
export class HealthProbeError extends HealthError {
  constructor(readonly reply: unknown) {
    super('KEEL_HEALTH_PROBE_FAILED', unexpectedPingReply({ reply }));
  }
}

/** True when `error` is a {@link HealthProbeError}. @publicApi */
export function isHealthProbeError(error: unknown): error is HealthProbeError {
  return isKeelError(error) && error.code === 'KEEL_HEALTH_PROBE_FAILED';
}
