/**
 * The audit event model: what a caller records ({@link AuditEventInput}) and what is stored and
 * chained ({@link AuditRecord}). The hashed fields and their encoding are fixed by
 * `chain/chain-format.ts` and documented in the README ("Chain format").
 */

/**
 * The categories Keel knows. Extend the set in two steps: declare the new key on
 * {@link AuditCategoryRegistry} (types) and list it in `AuditModule.forRoot({ categories })`
 * (run time). An unknown category in `@Audited` stops startup.
 * @publicApi
 */
export const BUILT_IN_AUDIT_CATEGORIES = [
  'AUTHENTICATION',
  'AUTHORIZATION',
  'DATA_ACCESS',
  'DATA_CHANGE',
  'CONFIGURATION',
  'SYSTEM_TASK',
  'SECURITY',
  'EXPORT',
] as const;

/**
 * The category type, open to module augmentation:
 *
 * ```ts
 * declare module '@keel/audit' {
 *   interface AuditCategoryRegistry { BILLING: true }
 * }
 * ```
 * @publicApi
 */
export interface AuditCategoryRegistry {
  AUTHENTICATION: true;
  AUTHORIZATION: true;
  DATA_ACCESS: true;
  DATA_CHANGE: true;
  CONFIGURATION: true;
  SYSTEM_TASK: true;
  SECURITY: true;
  EXPORT: true;
}

/** A category: a built-in one or one added to {@link AuditCategoryRegistry}. @publicApi */
export type AuditCategory = keyof AuditCategoryRegistry & string;

/** Severity levels, lowest first. @publicApi */
export const AUDIT_LEVELS = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'CRITICAL'] as const;

/** A severity level. @publicApi */
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

/** How the audited operation ended. @publicApi */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;

/** How the audited operation ended. @publicApi */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What an event is about. @publicApi */
export interface AuditResource {
  /** Kind of resource: `'order'`, `'user'`. */
  readonly type: string;
  /** Its id, when the event is about one resource. */
  readonly id?: string;
}

/** A JSON value as the payload may hold it (after redaction). @publicApi */
export type AuditJson =
  string | number | boolean | null | readonly AuditJson[] | { readonly [key: string]: AuditJson };

/**
 * An event as a caller records it (`AuditService.record`). Fields left out are taken from the
 * request context (actor, tenant, ip, user agent, correlation id) or defaulted (`level` INFO,
 * `outcome` success, `occurredAt` now).
 * @publicApi
 */
export interface AuditEventInput {
  /** What happened, dot-separated: `'order.update'`, `'user.login'`. */
  readonly action: string;
  readonly category: AuditCategory;
  /** @default 'INFO' */
  readonly level?: AuditLevel;
  /** @default 'success' */
  readonly outcome?: AuditOutcome;
  /** The error code of a failure or denial (`KEEL_LOCK_TIMEOUT`, `http_403`). */
  readonly errorCode?: string;
  readonly resource?: AuditResource;
  /** The data subject the event concerns (GDPR Art. 15 reports select on it). */
  readonly subject?: string;
  /** Free labels reports select on: `'sox'`, `'phi'`. */
  readonly tags?: readonly string[];
  readonly actor?: string;
  readonly tenant?: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly correlationId?: string;
  /** How long the operation took, in milliseconds. */
  readonly durationMs?: number;
  /** When it happened. @default now */
  readonly occurredAt?: Date;
  /** Details: arguments, result, before/after changes. Redacted before it is stored. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * An event ready to be chained: every field resolved, the payload redacted and capped, the
 * chain chosen. The store assigns `seq`, `prevHash` and `hash` when it appends.
 * @publicApi
 */
export interface PreparedAuditEvent {
  /** UUIDv7 (time-ordered), assigned when the event is recorded. */
  readonly id: string;
  /** The chain the event joins (`shard-3`, `tenant-acme`). */
  readonly chain: string;
  /** ISO 8601 UTC with milliseconds: `2026-12-02T10:15:00.123Z`. */
  readonly occurredAt: string;
  /** The recording service (`KEEL_SERVICE_NAME`). */
  readonly service: string;
  readonly category: string;
  readonly level: AuditLevel;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | null;
  readonly actor: string | null;
  readonly tenant: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string | null;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly subject: string | null;
  /** Sorted, without duplicates. */
  readonly tags: readonly string[];
  readonly durationMs: number | null;
  readonly data: { readonly [key: string]: AuditJson } | null;
}

/** A stored event: a prepared one with its place in its chain. @publicApi */
export interface AuditRecord extends PreparedAuditEvent {
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** The previous event's `hash` (the genesis value for seq 1). Lowercase hex. */
  readonly prevHash: string;
  /** SHA-256 of the canonical event followed by `prevHash`. Lowercase hex. */
  readonly hash: string;
}

/** The newest event of a chain, as the store records it. @publicApi */
export interface AuditChainHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
}

/**
 * A signed statement of a chain's state: `count` events from `fromSeq` to `toSeq`, the last
 * with hash `lastHash`. Each checkpoint also signs the previous checkpoint's signature of the
 * same chain, so the checkpoints form a chain of their own (see README, "Checkpoints").
 * @publicApi
 */
export interface AuditCheckpoint {
  readonly chain: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
  readonly lastHash: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly createdAt: string;
  /** Why it was written: on schedule, at shutdown, or to anchor a chain before a purge. */
  readonly reason: 'interval' | 'shutdown' | 'purge-anchor';
  /** The previous checkpoint's signature of this chain, or `''` for the first. */
  readonly previousSignature: string;
  /** `ed25519` or `hmac-sha256`. */
  readonly algorithm: 'ed25519' | 'hmac-sha256';
  /** Identifies the key (configured; never the key itself). */
  readonly keyId: string;
  /** Base64 of the signature over the signing input. */
  readonly signature: string;
}
