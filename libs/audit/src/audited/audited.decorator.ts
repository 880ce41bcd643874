import type { KeyTemplate } from '@keel/core';
import { createPolicyDecorator } from '@keel/core/internal';
import type { AuditCategory, AuditLevel } from '../audit-event.js';

/** A before/after pair, as `@Audited` turns it into a diff of the changed keys. @publicApi */
export interface AuditChangeSet {
  readonly before: unknown;
  readonly after: unknown;
}

/**
 * Extracts the before/after pair of a call from its arguments and result; `undefined` when
 * the call changed nothing worth recording.
 * @publicApi
 */
export type AuditChangesExtractor = (
  args: readonly unknown[],
  result: unknown,
) => AuditChangeSet | undefined;

/** What `@Audited` puts in the event's `data` (always redacted). @publicApi */
export interface AuditedCapture {
  /** The call's arguments, as `data.args` (an array). @default false */
  readonly args?: boolean;
  /** The method's result, as `data.result` (successful calls). @default false */
  readonly result?: boolean;
  /**
   * A diff of what changed, as `data.changes` = `{ key: { before, after } }` for each top-level
   * key whose value differs. `true`: the method returns `{ before, after }`; a function: it
   * derives the pair from the arguments and result.
   * @default false
   */
  readonly changes?: boolean | AuditChangesExtractor;
}

/** Options of {@link Audited}. @publicApi */
export interface AuditedOptions {
  /** What happened, dot-separated: `'order.create'`. */
  readonly action: string;
  /** A known category (built-in or `forRoot({ categories })`); an unknown one stops startup. */
  readonly category: AuditCategory;
  /** @default 'INFO' for success, 'WARNING' for failure and denied */
  readonly level?: AuditLevel;
  /** What the event is about; `id` is a key template (`'{orderId}'`, `'{dto.id}'`). */
  readonly resource?: { readonly type: string; readonly id?: KeyTemplate };
  /** The data subject, a key template (`'{customerId}'`). */
  readonly subject?: KeyTemplate;
  readonly tags?: readonly string[];
  readonly capture?: AuditedCapture;
}

/**
 * Records an audit event for every call of the method: outcome `success`, `failure` (with the
 * error code: a Keel error's code, `http_<status>`, or `error`) or `denied` (401/403), the
 * duration, actor, tenant, ip, user agent and correlation id of the request, and what
 * `capture` asks for. The event is buffered, never awaited on the request path (except in
 * `writer.mode: 'sync'`, where an async method resolves once its event is committed), and
 * recording never changes the method's outcome. Works on HTTP handlers, microservice handlers
 * and provider methods. Needs `AuditModule`.
 *
 * @example
 * ```ts
 * @Post()
 * @Audited({ action: 'order.create', category: 'DATA_CHANGE', resource: { type: 'order', id: '{dto.id}' } })
 * create(@Body() dto: CreateOrderDto) { ... }
 * ```
 * @publicApi
 */
export function Audited(options: AuditedOptions): MethodDecorator {
  return createPolicyDecorator('audited', options);
}
