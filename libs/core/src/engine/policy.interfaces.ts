import type { PolicyKind } from './policy.constants.js';

/** One decorator's declaration on a method. @internal */
export interface PolicyDeclaration<O = unknown> {
  readonly kind: PolicyKind;
  readonly options: O;
}

/** What kind of handler a decorated method is. @internal */
export type HandlerType = 'http' | 'rpc' | 'provider';

/**
 * A decorated method, as a policy factory sees it at bootstrap.
 * @internal
 */
export interface PolicyTarget {
  readonly className: string;
  readonly methodName: string;
  /** `ClassName.methodName`, for messages and metric labels. */
  readonly label: string;
  /** Parameter names read from the source; `undefined` for destructured ones. */
  readonly parameterNames: readonly (string | undefined)[];
  /** The undecorated method. */
  readonly original: Function;
  /** The class prototype the method was declared on. */
  readonly prototype: object;
  /** HTTP route handler, microservice handler, or a plain provider method. */
  readonly handlerType: HandlerType;
  /**
   * True when the method returns a promise (an `async` method, or one whose declared return type
   * is `Promise`). Policies then report refusals as rejections, never as synchronous throws.
   */
  readonly returnsPromise: boolean;
  /** Every policy on this method, in canonical order. */
  readonly policies: readonly PolicyDeclaration[];
}

/**
 * One call through a pipeline. A policy may replace `args` (validation passes on transformed
 * values); everything else is fixed for the call.
 * @internal
 */
export interface Invocation {
  readonly instance: object;
  args: unknown[];
  readonly target: PolicyTarget;
}

/** Continues the pipeline. May return a value, a promise, or throw. @internal */
export type Next = (invocation: Invocation) => unknown;

/**
 * A policy's run-time behaviour around one method, built once at bootstrap. It must call `next`
 * to proceed (once, several times for retry, or not at all to reject) and must not swallow
 * errors it does not handle.
 * @internal
 */
export type PolicyInterceptor = (invocation: Invocation, next: Next) => unknown;

/**
 * Builds a policy's interceptor for one method. Implemented by an injectable class marked with
 * `@PolicyFactoryFor(kind)`; the core explorer finds it through discovery, so the factory has full
 * DI (stores, metrics, configuration) and lives per application.
 * @internal
 */
export interface PolicyFactory<O = unknown> {
  /**
   * Called once per decorated method at bootstrap.
   * @throws KeelDecoratorError for misuse (unknown placeholder, unknown named policy); the
   *   application then fails to start with every such problem listed.
   */
  create(options: O, target: PolicyTarget): PolicyInterceptor;
}
