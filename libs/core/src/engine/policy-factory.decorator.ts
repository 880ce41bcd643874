import { Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import { KEEL_POLICY_FACTORY_METADATA, type PolicyKind } from './policy.constants.js';

/**
 * Marks an injectable class as the factory that builds pipelines for one policy kind. The core
 * explorer finds it through discovery, so providing the class in a module is all it takes.
 *
 * @example
 * ```ts
 * @PolicyFactoryFor('retry')
 * export class RetryPolicyFactory implements PolicyFactory<RetryOptions> { ... }
 * ```
 * @internal
 */
export function PolicyFactoryFor(kind: PolicyKind): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(KEEL_POLICY_FACTORY_METADATA, kind));
}
