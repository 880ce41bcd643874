import 'reflect-metadata';
import { CONTROLLER_WATERMARK, INJECTABLE_WATERMARK } from '@nestjs/common/constants.js';
import { KeelDecoratorError, KeelPolicyNotInitializedError } from '../core.errors.js';
import {
  KEEL_POLICIES_METADATA,
  POLICY_ORDER,
  POLICY_OWNERS,
  type PolicyKind,
} from './policy.constants.js';
import type { PolicyDeclaration } from './policy.interfaces.js';
import {
  decoratorBetween,
  decoratorTwice,
  notAMethod,
  policiesAmbiguous,
  policiesNotBuilt,
} from '../core.messages.js';

/** A built pipeline for one method on one instance. @internal */
export type Pipeline = (instance: object, args: unknown[]) => unknown;

/** Builds a pipeline for an instance the explorer could not see at bootstrap. @internal */
export type LazyPipelineBuilder = (instance: object) => Pipeline;

/**
 * Everything Keel knows about one decorated method, kept on its trampoline function.
 * @internal
 */
export interface TrampolineRecord {
  readonly original: Function;
  readonly methodName: string;
  /** Declarations in the order written; the explorer sorts them canonically. */
  readonly declarations: PolicyDeclaration[];
  /** Per-instance slot: the instance property holding this method's pipeline. */
  readonly slot: symbol;
  /** Builders for non-static (request-scoped) instances, one per application that has them. */
  readonly lazyBuilders: Set<LazyPipelineBuilder>;
}

const TRAMPOLINE = Symbol('keel.trampoline');

/** The record of a Keel trampoline, or `undefined` for any other function. @internal */
export function getTrampolineRecord(fn: unknown): TrampolineRecord | undefined {
  return typeof fn === 'function'
    ? ((fn as unknown as Record<symbol, TrampolineRecord | undefined>)[TRAMPOLINE] ?? undefined)
    : undefined;
}

/**
 * Copies every Reflect metadata key, `name` and `length` from one function to another, so that
 * framework decorators applied before (below) a wrapping decorator keep working. Cockatiel's
 * wrappers drop this metadata; a handler above `@EventPattern` then silently disappears.
 * @internal
 */
export function copyMethodMetadata(from: Function, to: Function): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
  Object.defineProperty(to, 'name', { value: from.name, configurable: true });
  Object.defineProperty(to, 'length', { value: from.length, configurable: true });
}

/**
 * Creates a method decorator that declares one policy. The decorator only records the
 * declaration and, the first time a Keel decorator meets the method, installs the trampoline;
 * the pipeline is built by the explorer at bootstrap.
 *
 * @param kind which policy; its position in the pipeline comes from {@link POLICY_ORDER}.
 * @param options the decorator's options, handed to the policy factory at bootstrap.
 * @internal
 */
export function createPolicyDecorator<O>(kind: PolicyKind, options: O): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const where = `${className(target)}.${String(propertyKey)}`;
    const owner = POLICY_OWNERS[kind];
    if (typeof descriptor.value !== 'function') {
      throw new KeelDecoratorError(notAMethod({ decorator: owner.decorator, where }));
    }
    let fn = descriptor.value as Function;
    let record = getTrampolineRecord(fn);
    if (record === undefined) {
      if (hasTrampolineBelow(target, propertyKey)) {
        throw new KeelDecoratorError(decoratorBetween({ decorator: owner.decorator, where }));
      }
      const installed = installTrampoline(fn, String(propertyKey));
      fn = installed.trampoline;
      record = installed.record;
      descriptor.value = fn as typeof descriptor.value;
      markPrototype(target, propertyKey);
    }
    if (record.declarations.some((d) => d.kind === kind)) {
      throw new KeelDecoratorError(decoratorTwice({ decorator: owner.decorator, where }));
    }
    record.declarations.push({ kind, options });
    Reflect.defineMetadata(KEEL_POLICIES_METADATA, sortDeclarations(record.declarations), fn);
    return descriptor;
  };
}

/** Declarations sorted into the canonical order. @internal */
export function sortDeclarations(declarations: readonly PolicyDeclaration[]): PolicyDeclaration[] {
  return [...declarations].sort(
    (a, b) => POLICY_ORDER.indexOf(a.kind) - POLICY_ORDER.indexOf(b.kind),
  );
}

/**
 * The policies declared on a method (the function found on the prototype, or the handler Nest
 * passes to an interceptor), in canonical order; empty when it has none.
 * @internal
 */
export function getMethodPolicies(handler: Function): readonly PolicyDeclaration[] {
  return (Reflect.getMetadata(KEEL_POLICIES_METADATA, handler) as PolicyDeclaration[]) ?? [];
}

function installTrampoline(
  original: Function,
  methodName: string,
): { trampoline: Function; record: TrampolineRecord } {
  const record: TrampolineRecord = {
    original,
    methodName,
    declarations: [],
    slot: Symbol(`keel.pipeline:${methodName}`),
    lazyBuilders: new Set(),
  };
  const { slot } = record;
  // The hot path: one property read on the instance and one call. No closure or array is
  // allocated here beyond the rest arguments the method receives anyway.
  const trampoline = function (this: unknown, ...args: unknown[]): unknown {
    const pipeline =
      this !== null && typeof this === 'object'
        ? ((this as Record<symbol, Pipeline | undefined>)[slot] ?? undefined)
        : undefined;
    if (pipeline !== undefined) return pipeline(this as object, args);
    return callWithoutPipeline(record, this, args);
  };
  copyMethodMetadata(original, trampoline);
  Object.defineProperty(trampoline, TRAMPOLINE, { value: record });
  return { trampoline, record };
}

/** Marks an instance whose methods run undecorated when it has no pipeline (unit tests). */
const WITHOUT_POLICIES = Symbol('keel.withoutPolicies');

/**
 * Lets a unit test call the decorated methods of an instance it created with `new`, running each
 * method **without** its Keel policies (no lock, breaker, retry, timing).
 *
 * Keel fails closed: a decorated method of an `@Injectable()` or `@Controller()` class whose
 * policy pipeline was never built throws {@link KeelPolicyNotInitializedError}, because Keel
 * cannot tell an instance made by hand from one Nest made before the pipelines were built (or
 * in an application that does not import the module), and a lock must never silently not apply.
 * This is the explicit opt-out for the one case where running undecorated is what you want.
 * It marks that instance only, and changes nothing for an instance Nest built a pipeline for.
 * To test the policies themselves, build the class with `Test.createTestingModule()` and the
 * Keel modules (the in-memory stores need no services).
 *
 * @returns the same instance.
 * @example
 * ```ts
 * const service = withoutPolicies(new OrdersService(ordersRepository));
 * await service.ship('o-1'); // the method body, without @WithLock
 * ```
 * @publicApi
 */
export function withoutPolicies<T extends object>(instance: T): T {
  Object.defineProperty(instance, WITHOUT_POLICIES, { value: true, configurable: true });
  return instance;
}

function callWithoutPipeline(
  record: TrampolineRecord,
  instance: unknown,
  args: unknown[],
): unknown {
  if (
    instance !== null &&
    typeof instance === 'object' &&
    isNestManaged(instance) &&
    (instance as Record<symbol, unknown>)[WITHOUT_POLICIES] !== true
  ) {
    if (record.lazyBuilders.size === 1) {
      const [build] = record.lazyBuilders;
      const pipeline = build(instance);
      Object.defineProperty(instance, record.slot, { value: pipeline, configurable: true });
      return pipeline(instance, args);
    }
    throw new KeelPolicyNotInitializedError(notInitializedMessage(record, instance));
  }
  // Opted out with withoutPolicies(), or an instance of a class Nest does not manage (no
  // @Injectable/@Controller): there is no pipeline to miss.
  return record.original.apply(instance, args);
}

function notInitializedMessage(record: TrampolineRecord, instance: object): string {
  const where = `${instance.constructor.name}.${record.methodName}`;
  const decorators = sortDeclarations(record.declarations)
    .map((d) => POLICY_OWNERS[d.kind].decorator)
    .join(', ');
  const modules = [
    ...new Set(sortDeclarations(record.declarations).map((d) => POLICY_OWNERS[d.kind])),
  ]
    .map((o) => `${o.module} (${o.pkg})`)
    .join(', ');
  if (record.lazyBuilders.size > 1) {
    return policiesAmbiguous({ where, decorators });
  }
  return policiesNotBuilt({ where, decorators, modules, className: instance.constructor.name });
}

function isNestManaged(instance: object): boolean {
  const ctor = instance.constructor;
  return (
    typeof ctor === 'function' &&
    (Reflect.getMetadata(INJECTABLE_WATERMARK, ctor) === true ||
      Reflect.getMetadata(CONTROLLER_WATERMARK, ctor) === true)
  );
}

const PROTOTYPE_MARKS = new WeakMap<object, Set<string | symbol>>();

function markPrototype(target: object, key: string | symbol): void {
  let marks = PROTOTYPE_MARKS.get(target);
  if (marks === undefined) PROTOTYPE_MARKS.set(target, (marks = new Set()));
  marks.add(key);
}

function hasTrampolineBelow(target: object, key: string | symbol): boolean {
  return PROTOTYPE_MARKS.get(target)?.has(key) ?? false;
}

function className(target: object): string {
  return typeof target === 'function' ? target.name : target.constructor.name;
}
