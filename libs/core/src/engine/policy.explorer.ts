import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { isKeelConfigError, KeelDecoratorError } from '../core.errors.js';
import { readParameterNames } from '../key-template/parameter-names.js';
import { KEEL_POLICY_FACTORY } from './policy-factory.decorator.js';
import { POLICY_OWNERS, type PolicyKind } from './policy.constants.js';
import type {
  HandlerType,
  Invocation,
  Next,
  PolicyFactory,
  PolicyInterceptor,
  PolicyTarget,
} from './policy.interfaces.js';
import {
  getTrampolineRecord,
  sortDeclarations,
  type LazyPipelineBuilder,
  type Pipeline,
  type TrampolineRecord,
} from './trampoline.js';
import {
  decoratedMethodProblems,
  duplicatePolicyFactory,
  policyModuleMissing,
} from '../core.messages.js';

/**
 * `PATTERN_METADATA` of `@nestjs/microservices/constants.js`, written out: @nestjs/microservices is
 * an optional peer that core never imports (an application without microservices has no copy of
 * it). engine.spec.ts checks the two stay equal.
 * @internal
 */
export const PATTERN_METADATA = 'microservices:pattern';

interface InstanceWrapperLike {
  readonly name?: unknown;
  readonly instance: unknown;
  readonly metatype: unknown;
  isDependencyTreeStatic(): boolean;
}

/**
 * Builds every decorated method's pipeline once, at module init, with full DI, and fills the
 * per-instance slots the trampolines dispatch to. Misuse found on the way (a decorator whose
 * module is not imported, an unknown key placeholder, an unknown named policy) is collected and
 * reported in one error, one line per problem, so the application does not start.
 * @internal
 */
@Injectable()
export class PolicyExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Keel');
  private readonly lazyRegistrations = new Map<TrampolineRecord, LazyPipelineBuilder>();
  private methodCount = 0;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const factories = this.collectFactories();
    const problems: string[] = [];
    const built = new Map<TrampolineRecord, Pipeline | null>();
    const controllers = new Set<unknown>(this.discovery.getControllers());
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers as unknown as InstanceWrapperLike[]) {
      const prototype = this.prototypeOf(wrapper);
      if (prototype === undefined) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const record = getTrampolineRecord(Reflect.get(prototype, methodName));
        if (record === undefined) continue;
        let pipeline = built.get(record);
        if (pipeline === undefined) {
          pipeline = this.build(record, prototype, controllers.has(wrapper), factories, problems);
          built.set(record, pipeline);
        }
        if (pipeline === null) continue;
        if (!wrapper.isDependencyTreeStatic()) {
          const shared = pipeline;
          const builder: LazyPipelineBuilder = () => shared;
          record.lazyBuilders.add(builder);
          this.lazyRegistrations.set(record, builder);
          continue;
        }
        const instance = wrapper.instance as object;
        Object.defineProperty(instance, record.slot, {
          value: pipeline,
          configurable: true,
          writable: true,
          enumerable: false,
        });
      }
    }
    if (problems.length > 0) {
      throw new KeelDecoratorError(decoratedMethodProblems({ problems }));
    }
    this.methodCount = [...built.values()].filter((p) => p !== null).length;
    this.logger.debug(`policy pipelines built for ${this.methodCount} method(s)`);
  }

  onApplicationShutdown(): void {
    for (const [record, builder] of this.lazyRegistrations) record.lazyBuilders.delete(builder);
    this.lazyRegistrations.clear();
  }

  /** Number of decorated methods whose pipeline was built. */
  get builtMethodCount(): number {
    return this.methodCount;
  }

  private collectFactories(): Map<PolicyKind, PolicyFactory> {
    const factories = new Map<PolicyKind, PolicyFactory>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: KEEL_POLICY_FACTORY.KEY })) {
      const { instance } = wrapper;
      if (instance === null || typeof instance !== 'object') continue;
      const kind = this.discovery.getMetadataByDecorator(KEEL_POLICY_FACTORY, wrapper);
      if (kind === undefined) continue;
      const existing = factories.get(kind);
      if (existing !== undefined && existing.constructor !== instance.constructor) {
        throw new KeelDecoratorError(
          duplicatePolicyFactory({
            kind,
            first: existing.constructor.name,
            second: instance.constructor.name,
          }),
        );
      }
      factories.set(kind, instance as PolicyFactory);
    }
    return factories;
  }

  private build(
    record: TrampolineRecord,
    prototype: object,
    isController: boolean,
    factories: Map<PolicyKind, PolicyFactory>,
    problems: string[],
  ): Pipeline | null {
    const declarations = sortDeclarations(record.declarations);
    const className = declaringClassName(prototype, record.methodName);
    const target: PolicyTarget = {
      className,
      methodName: record.methodName,
      label: `${className}.${record.methodName}`,
      parameterNames: readParameterNames(record.original),
      original: record.original,
      prototype,
      handlerType: isController
        ? handlerTypeOf(Reflect.get(prototype, record.methodName) as Function)
        : 'provider',
      returnsPromise:
        record.original.constructor?.name === 'AsyncFunction' ||
        Reflect.getMetadata('design:returntype', prototype, record.methodName) === Promise,
      policies: declarations,
    };
    const interceptors: PolicyInterceptor[] = [];
    for (const declaration of declarations) {
      const factory = factories.get(declaration.kind);
      if (factory === undefined) {
        const owner = POLICY_OWNERS[declaration.kind];
        problems.push(policyModuleMissing({ label: target.label, ...owner }));
        return null;
      }
      try {
        interceptors.push(factory.create(declaration.options, target));
      } catch (error) {
        // A factory's configuration error lists its own problems: they join this list, one line
        // each, rather than nesting a second "Invalid Keel configuration" heading inside it.
        if (isKeelConfigError(error)) problems.push(...error.problems);
        else problems.push(error instanceof Error ? error.message : String(error));
        return null;
      }
    }
    return composePipeline(interceptors, record.original, target);
  }

  private prototypeOf(wrapper: InstanceWrapperLike): object | undefined {
    const { instance, metatype } = wrapper;
    if (typeof metatype === 'function' && metatype.prototype && !wrapper.isDependencyTreeStatic()) {
      return metatype.prototype as object;
    }
    if (instance === null || typeof instance !== 'object') return undefined;
    return Object.getPrototypeOf(instance) as object;
  }
}

/**
 * Chains interceptors around the original method, outermost first. Built once per method: a
 * call allocates one {@link Invocation} and nothing else of the engine's.
 * @internal
 */
export function composePipeline(
  interceptors: readonly PolicyInterceptor[],
  original: Function,
  target: PolicyTarget,
): Pipeline {
  let next: Next = (invocation: Invocation) => original.apply(invocation.instance, invocation.args);
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const interceptor = interceptors[i];
    const inner = next;
    next = (invocation: Invocation) => interceptor(invocation, inner);
  }
  const head = next;
  return (instance, args) => head({ instance, args, target });
}

function handlerTypeOf(fn: Function): HandlerType {
  if (Reflect.getMetadata(PATTERN_METADATA, fn) !== undefined) return 'rpc';
  if (
    Reflect.getMetadata(PATH_METADATA, fn) !== undefined &&
    Reflect.getMetadata(METHOD_METADATA, fn) !== undefined
  ) {
    return 'http';
  }
  return 'provider';
}

function declaringClassName(prototype: object, methodName: string): string {
  for (
    let p: object | null = prototype;
    p !== null;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    if (Object.prototype.hasOwnProperty.call(p, methodName)) return p.constructor.name;
  }
  return prototype.constructor.name;
}
