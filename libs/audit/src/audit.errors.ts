import { KeelError, isKeelError, type KeelErrorCodes } from '@keel/core';

/**
 * The error codes of `@keel/audit`, with the HTTP status Keel's exception filter answers with.
 * @publicApi
 */
export const AUDIT_ERRORS = {
  KEEL_AUDIT_INVALID_EVENT: {
    status: 400,
    meaning: 'an event passed to record() is malformed (unknown category, empty action…)',
  },
  KEEL_AUDIT_INVALID_CURSOR: {
    status: 400,
    meaning: 'a query cursor is not one this service issued',
  },
  KEEL_AUDIT_INVALID_FILTER: {
    status: 400,
    meaning: 'a query, export or report request is malformed (bad date, unknown category…)',
  },
  KEEL_AUDIT_FORBIDDEN: {
    status: 403,
    meaning:
      'the audit HTTP API refused the request (its guard said no, or no guard is configured)',
  },
  KEEL_AUDIT_UNAVAILABLE: {
    status: 503,
    meaning: 'the audit store could not be written in time (sync mode) or read',
  },
  KEEL_AUDIT_SHUT_DOWN: {
    status: 503,
    meaning: 'the audit writer is shutting down and takes no new events',
  },
  KEEL_AUDIT_UNSUPPORTED: {
    status: 500,
    meaning:
      'the configured store or installation cannot do this (a transactional write on the file store, a PDF without pdfkit, a checkpoint without a key)',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link AUDIT_ERRORS}. @publicApi */
export type AuditErrorCode = keyof typeof AUDIT_ERRORS;

/**
 * Base of every error `@keel/audit` throws; takes its HTTP status from {@link AUDIT_ERRORS}.
 * @publicApi
 */
export class AuditError extends KeelError {
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: AUDIT_ERRORS[code].status });
  }
}

/** True when `error` is an {@link AuditError} (any code). @publicApi */
export function isAuditError(error: unknown): error is AuditError {
  return isKeelError(error) && error.code in AUDIT_ERRORS;
}
