import { Inject } from '@nestjs/common';
import {
  compileKeyTemplate,
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import { LockService } from './lock.service.js';
import type { WithLockDeclaration } from './with-lock.decorator.js';

/** Builds `@WithLock` interceptors, once per method at bootstrap. @internal */
@PolicyFactoryFor('lock')
export class WithLockPolicyFactory implements PolicyFactory<WithLockDeclaration> {
  constructor(@Inject(LockService) private readonly locks: LockService) {}

  create(declaration: WithLockDeclaration, target: PolicyTarget): PolicyInterceptor {
    const buildKey = compileKeyTemplate(declaration.key, {
      className: target.className,
      methodName: target.methodName,
      parameterNames: target.parameterNames,
      usage: '@WithLock key',
    });
    const { key: _key, ...options } = declaration;
    return (invocation: Invocation, next: Next) =>
      this.locks.runLocked(buildKey(invocation.args), options, () => next(invocation));
  }
}
