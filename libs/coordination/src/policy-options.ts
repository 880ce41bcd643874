import { KeelDecoratorError, keelZodErrorMap } from '@keel/core';
import type { z } from 'zod';
import { POLICY_SCHEMAS } from './coordination.settings.js';
import type {
  CoordinationSettings,
  NamedPolicy,
  NamedPolicyKind,
} from './interfaces/coordination-options.interface.js';
import { invalidInlineOptions, unknownPolicy } from './coordination.messages.js';

/**
 * Resolves a decorator's argument (a policy name or inline options) into options: the `default`
 * policy's section, extended by the named policy's section or the inline options. The policy
 * factories apply `DEFAULTS.policy` beneath the result.
 * @throws KeelDecoratorError naming the method for an unknown policy or invalid inline options.
 * @internal
 */
export function resolvePolicyOptions<T extends object>(request: {
  readonly settings: CoordinationSettings;
  readonly kind: NamedPolicyKind;
  /** The decorator's argument: a policy name, inline options, or nothing. */
  readonly ref: string | T | undefined;
  /** `ClassName.methodName`, for messages. */
  readonly label: string;
}): { options: T; policyName: string | undefined } {
  const { settings, kind, ref, label } = request;
  const base = section<T>(settings.policies.default, kind);
  if (typeof ref === 'string') {
    const named = settings.policies[ref];
    if (named === undefined) {
      throw new KeelDecoratorError(
        unknownPolicy({ label, kind, name: ref, known: Object.keys(settings.policies) }),
      );
    }
    return { options: { ...base, ...section<T>(named, kind) } as T, policyName: ref };
  }
  const inline = kind === 'timeout' && typeof ref === 'number' ? { ms: ref } : ref;
  const problems = inlineOptionProblems(POLICY_SCHEMAS[kind], inline);
  if (problems.length > 0) {
    throw new KeelDecoratorError(invalidInlineOptions({ label, kind, problems }));
  }
  return { options: { ...base, ...(inline as T) } as T, policyName: undefined };
}

/**
 * What is wrong with a decorator's inline options, one line per problem (`path: message`), or
 * nothing. Shared by every decorator so that their boot errors read alike.
 * @internal
 */
export function inlineOptionProblems(schema: z.ZodType, options: unknown): string[] {
  const parsed = schema.safeParse(options ?? {}, { error: keelZodErrorMap });
  if (parsed.success) return [];
  return parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || 'options'}: ${issue.message}`,
  );
}

function section<T>(policy: NamedPolicy | undefined, kind: NamedPolicyKind): Partial<T> {
  const value = policy?.[kind];
  if (value === undefined) return {};
  return (typeof value === 'number' ? { ms: value } : value) as Partial<T>;
}
