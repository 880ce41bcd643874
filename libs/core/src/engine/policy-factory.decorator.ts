import { Injectable, applyDecorators } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { PolicyKind } from './policy.constants.js';

/**
 * The discoverable decorator behind {@link PolicyFactoryFor}: Nest's `DiscoveryService` indexes
 * the classes it marks when their module is scanned, so the explorer asks for them by key
 * instead of reading the metadata of every provider.
 * @internal
 */
export const KEEL_POLICY_FACTORY = DiscoveryService.createDecorator<PolicyKind>();

/**
 * Marks an injectable class as the factory that builds pipelines for one policy kind. The core
 * explorer finds it through discovery, so providing the class in a module is all it takes. The
 * decorated class itself is found, not a subclass of it: decorate a subclass too.
 *
 * @example
 * ```ts
 * @PolicyFactoryFor('retry')
 * export class RetryPolicyFactory implements PolicyFactory<RetryOptions> { ... }
 * ```
 * @internal
 */
export function PolicyFactoryFor(kind: PolicyKind): ClassDecorator {
  return applyDecorators(Injectable(), KEEL_POLICY_FACTORY(kind));
}
