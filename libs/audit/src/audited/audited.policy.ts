import { Inject, Logger } from '@nestjs/common';
import { KeelDecoratorError, isKeelError, type KeyTemplate } from '@keel/core';
import {
  compileKeyTemplate,
  isPromiseLike,
  outcomeOf,
  PolicyFactoryFor,
  type Invocation,
  type KeyBuilder,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import type { AuditEventInput, AuditOutcome } from '../audit-event.js';
import { auditedInvalid, auditedRecordFailed } from '../audit.messages.js';
import { AuditService } from '../audit.service.js';
import { diffChanges, isChangeSet } from './audit-changes.js';
import type { AuditedOptions } from './audited.decorator.js';

/** One call's end, as the event is built from it. */
interface CallEnd {
  readonly args: readonly unknown[];
  readonly result: unknown;
  readonly error: unknown;
  readonly failed: boolean;
  readonly start: number;
  readonly startedAt: number;
}

/** Builds `@Audited` interceptors, once per method at bootstrap. @internal */
@PolicyFactoryFor('audited')
export class AuditedPolicyFactory implements PolicyFactory<AuditedOptions> {
  private readonly logger = new Logger('KeelAudit');

  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  create(options: AuditedOptions, target: PolicyTarget): PolicyInterceptor {
    const build = this.compile(options, target);
    const emit = (end: CallEnd): Promise<void> | undefined => {
      try {
        const pending = this.audit.enqueue(build(end));
        return pending?.catch((error: unknown) => this.failed(target, error));
      } catch (error) {
        this.failed(target, error);
        return undefined;
      }
    };
    return (invocation: Invocation, next: Next) => intercept(invocation, next, emit);
  }

  /** Checks the options and compiles the templates; returns the per-call event builder. */
  private compile(
    options: AuditedOptions,
    target: PolicyTarget,
  ): (end: CallEnd) => AuditEventInput {
    const problem = (text: string) =>
      new KeelDecoratorError(auditedInvalid({ label: target.label, problem: text }));
    if (typeof options?.action !== 'string' || options.action.trim() === '') {
      throw problem('action must be a non-empty string');
    }
    if (!this.audit.categories.has(options.category)) {
      const known = [...this.audit.categories].join(', ');
      throw problem(
        `unknown category ${JSON.stringify(options.category)}; known: ${known} (add it to AuditModule.forRoot({ categories }))`,
      );
    }
    const site = (usage: string) => ({
      className: target.className,
      methodName: target.methodName,
      parameterNames: target.parameterNames,
      usage,
    });
    const resourceId: KeyBuilder | undefined =
      options.resource?.id === undefined
        ? undefined
        : valueTemplate(options.resource.id, site('@Audited resource.id'));
    const subject: KeyBuilder | undefined =
      options.subject === undefined
        ? undefined
        : valueTemplate(options.subject, site('@Audited subject'));
    const capture = options.capture ?? {};
    const tags = options.tags === undefined ? undefined : [...new Set(options.tags)].sort();
    return (end) => {
      const outcome = end.failed ? failureOutcome(end.error) : 'success';
      return {
        action: options.action,
        category: options.category,
        level: options.level ?? (outcome === 'success' ? 'INFO' : 'WARNING'),
        outcome,
        errorCode: end.failed ? outcomeOf(end.error) : undefined,
        resource:
          options.resource === undefined
            ? undefined
            : { type: options.resource.type, id: optionalKey(resourceId, end.args) },
        subject: optionalKey(subject, end.args),
        tags,
        durationMs: Math.round((performance.now() - end.start) * 1_000) / 1_000,
        occurredAt: new Date(end.startedAt),
        data: captured(capture, end),
      };
    };
  }

  private failed(target: PolicyTarget, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.logger.error(auditedRecordFailed({ label: target.label, error: text }));
  }
}

/** Runs the method and emits its event, sync or async, without changing its outcome. */
function intercept(
  invocation: Invocation,
  next: Next,
  emit: (end: CallEnd) => Promise<void> | undefined,
): unknown {
  const start = performance.now();
  const startedAt = Date.now();
  const args = invocation.args;
  let result: unknown;
  try {
    result = next(invocation);
  } catch (error) {
    void emit({ args, result: undefined, error, failed: true, start, startedAt });
    throw error;
  }
  if (!isPromiseLike(result)) {
    void emit({ args, result, error: undefined, failed: false, start, startedAt });
    return result;
  }
  return Promise.resolve(result).then(
    (value: unknown) => {
      const pending = emit({
        args,
        result: value,
        error: undefined,
        failed: false,
        start,
        startedAt,
      });
      return pending === undefined ? value : pending.then(() => value);
    },
    (error: unknown) => {
      const pending = emit({ args, result: undefined, error, failed: true, start, startedAt });
      if (pending === undefined) throw error;
      return pending.then(() => {
        throw error;
      });
    },
  );
}

/**
 * A key template for a stored value: placeholders are escaped for keys (`@` → `%40`), which an
 * audit field must not be — a subject report for `ann@example.com` has to find it — so a string
 * template's result is unescaped (the escaping is reversible). A function's result is used as
 * given, as in keys.
 */
function valueTemplate(
  template: KeyTemplate,
  site: Parameters<typeof compileKeyTemplate>[1],
): KeyBuilder {
  const build = compileKeyTemplate(template, site);
  if (typeof template !== 'string') return build;
  return (args) => {
    const key = build(args);
    if (!key.includes('%')) return key;
    try {
      return decodeURIComponent(key);
    } catch {
      return key; // a literal '%' in the template itself
    }
  };
}

/** `denied` for 401/403 (an HttpException, or a Keel error with that status), else `failure`. */
function failureOutcome(error: unknown): AuditOutcome {
  const status = isKeelError(error)
    ? error.status
    : (error as { getStatus?: () => unknown } | null)?.getStatus?.();
  return status === 401 || status === 403 ? 'denied' : 'failure';
}

function optionalKey(build: KeyBuilder | undefined, args: readonly unknown[]): string | undefined {
  if (build === undefined) return undefined;
  try {
    return build(args);
  } catch {
    // A missing value (an optional id) leaves the field empty rather than losing the event.
    return undefined;
  }
}

function captured(
  capture: NonNullable<AuditedOptions['capture']>,
  end: CallEnd,
): Record<string, unknown> | undefined {
  if (capture.args !== true && capture.result !== true && capture.changes === undefined) {
    return undefined;
  }
  const data: Record<string, unknown> = {};
  if (capture.args === true) data.args = end.args;
  if (capture.result === true && !end.failed) data.result = end.result;
  if (capture.changes !== undefined && capture.changes !== false && !end.failed) {
    const pair =
      typeof capture.changes === 'function'
        ? capture.changes(end.args, end.result)
        : isChangeSet(end.result)
          ? end.result
          : undefined;
    const changes = pair === undefined ? undefined : diffChanges(pair);
    if (changes !== undefined) data.changes = changes;
  }
  return Object.keys(data).length === 0 ? undefined : data;
}
