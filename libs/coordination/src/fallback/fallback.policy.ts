import { KeelDecoratorError } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import { isValidationFailedError } from '../coordination.errors.js';
import { compileErrorFilter } from '../error-filter.js';
import type { FallbackDeclaration } from './fallback.decorator.js';
import { fallbackMethodMissing } from '../coordination.messages.js';

/** Builds `@Fallback` interceptors. @internal */
@PolicyFactoryFor('fallback')
export class FallbackPolicyFactory implements PolicyFactory<FallbackDeclaration> {
  create(declaration: FallbackDeclaration, target: PolicyTarget): PolicyInterceptor {
    const on =
      compileErrorFilter(declaration.options.on) ??
      ((error: unknown) => !isValidationFailedError(error));
    let produce: (invocation: Invocation, error: unknown) => unknown;
    if (typeof declaration.fallback === 'string') {
      const name = declaration.fallback;
      const method = Reflect.get(target.prototype, name) as unknown;
      if (typeof method !== 'function') {
        throw new KeelDecoratorError(
          fallbackMethodMissing({ label: target.label, name, className: target.className }),
        );
      }
      // Looked up on the instance at call time, so subclasses and test doubles can override it.
      produce = (invocation, error) =>
        (Reflect.get(invocation.instance, name) as Function).apply(invocation.instance, [
          ...invocation.args,
          error,
        ]);
    } else {
      const value = declaration.fallback;
      produce = () => value;
    }

    const handle = (invocation: Invocation, error: unknown): unknown => {
      if (!on(error)) throw error;
      return produce(invocation, error);
    };
    const awaitResult = async (promise: PromiseLike<unknown>, invocation: Invocation) => {
      try {
        return await promise;
      } catch (error) {
        return handle(invocation, error);
      }
    };
    return (invocation: Invocation, next: Next) => {
      let result: unknown;
      try {
        result = next(invocation);
      } catch (error) {
        return handle(invocation, error);
      }
      return isPromiseLike(result) ? awaitResult(result, invocation) : result;
    };
  }
}
