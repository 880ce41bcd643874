import { Inject } from '@nestjs/common';
import { KeelDecoratorError, KeelMetrics } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import { Ajv } from 'ajv';
import type { Counter } from 'prom-client';
import { fail } from '../call-shape.js';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { ValidationFailedError, type ValidationProblem } from '../coordination.errors.js';
import type {
  CoordinationSettings,
  JsonSchemaRuleSet,
} from '../interfaces/coordination-options.interface.js';
import type { ValidateOptions, Validator } from './validate.decorator.js';
import {
  compileValidator,
  isDtoClass,
  isStandardSchema,
  missingDtoLibraries,
  type Check,
  type CheckResult,
} from './validators.js';
import {
  invalidSchema,
  noDtoParameter,
  unknownParameter,
  unknownRuleSet,
} from '../coordination.messages.js';

interface ParamCheck {
  readonly index: number;
  readonly check: Check;
}

/** Builds `@Validate` interceptors. @internal */
@PolicyFactoryFor('validate')
export class ValidatePolicyFactory implements PolicyFactory<{
  ref: Validator | string | ValidateOptions | undefined;
}> {
  private ajvInstance: Ajv | undefined;
  private readonly failures: Counter<'name'>;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.failures = metrics.counter(COORDINATION_METRICS.validationFailures);
  }

  create(
    declaration: { ref: Validator | string | ValidateOptions | undefined },
    target: PolicyTarget,
  ): PolicyInterceptor {
    const { params, argsCheck } = this.compileChecks(declaration.ref, target);
    const async = target.returnsPromise;
    const counter = this.failures.labels({ name: target.label });
    const label = target.label;

    // `results` holds one result per parameter check, then the `args` check's when there is one
    // (one array per call, which the checks allocate anyway, instead of a parameter object).
    const finish = (invocation: Invocation, next: Next, results: readonly CheckResult[]) => {
      const problems: ValidationProblem[] = [];
      const args = [...invocation.args];
      for (let i = 0; i < params.length; i++) {
        const result = results[i];
        if (result.ok) args[params[i].index] = result.value;
        else problems.push(...result.problems);
      }
      const argsResult = argsCheck === undefined ? undefined : results[params.length];
      if (argsResult !== undefined) {
        if (!argsResult.ok) problems.push(...argsResult.problems);
        else if (problems.length === 0 && Array.isArray(argsResult.value))
          args.splice(0, args.length, ...argsResult.value);
      }
      if (problems.length > 0) {
        counter.inc();
        return fail(new ValidationFailedError(problems, label), async);
      }
      invocation.args = args;
      return next(invocation);
    };

    return (invocation: Invocation, next: Next) => {
      const results = params.map((p) => p.check(invocation.args[p.index]));
      if (argsCheck !== undefined) results.push(argsCheck(invocation.args));
      if (results.some((r) => r instanceof Promise)) {
        return Promise.all(results).then((settled) => finish(invocation, next, settled));
      }
      return finish(invocation, next, results as CheckResult[]);
    };
  }

  /** Compiles the declaration into one check per validated parameter and an optional `args` check. */
  private compileChecks(
    declared: Validator | string | ValidateOptions | undefined,
    target: PolicyTarget,
  ): { params: ParamCheck[]; argsCheck: Check | undefined } {
    let ref = declared;
    if (typeof ref === 'string') {
      const ruleSet = this.settings.validation[ref];
      if (ruleSet === undefined) {
        const known = Object.keys(this.settings.validation);
        throw new KeelDecoratorError(unknownRuleSet({ label: target.label, name: ref, known }));
      }
      ref = ruleSetToOptions(ruleSet);
    }
    const compile = (validator: Validator, prefix: string): Check => {
      const missing = missingDtoLibraries(target.label, validator);
      if (missing) throw missing;
      return compileValidator(validator, prefix, () => this.ajv());
    };
    try {
      if (ref === undefined) {
        const types = (Reflect.getMetadata(
          'design:paramtypes',
          target.prototype,
          target.methodName,
        ) ?? []) as unknown[];
        const params = types.flatMap((type, index) =>
          isDtoClass(type) ? [{ index, check: compile(type, this.paramLabel(target, index)) }] : [],
        );
        if (params.length === 0) {
          throw new KeelDecoratorError(noDtoParameter({ label: target.label }));
        }
        return { params, argsCheck: undefined };
      }
      if (isOptions(ref)) {
        const argsCheck = ref.args === undefined ? undefined : compile(ref.args, '');
        const params = Object.entries(ref.params ?? {}).map(([key, validator]) => {
          const index = this.paramIndex(target, key);
          return { index, check: compile(validator, this.paramLabel(target, index)) };
        });
        return { params, argsCheck };
      }
      return {
        params: [{ index: 0, check: compile(ref, this.paramLabel(target, 0)) }],
        argsCheck: undefined,
      };
    } catch (error) {
      if (error instanceof KeelDecoratorError) throw error;
      throw new KeelDecoratorError(
        invalidSchema({ label: target.label, reason: (error as Error).message }),
      );
    }
  }

  private ajv(): Ajv {
    return (this.ajvInstance ??= new Ajv({
      allErrors: true,
      useDefaults: true,
      coerceTypes: true,
      strict: false,
    }));
  }

  private paramIndex(target: PolicyTarget, key: string): number {
    if (/^\d+$/.test(key)) return Number(key);
    const index = target.parameterNames.indexOf(key);
    if (index < 0) {
      throw new KeelDecoratorError(
        unknownParameter({
          label: target.label,
          key,
          methodName: target.methodName,
          parameterNames: target.parameterNames,
        }),
      );
    }
    return index;
  }

  private paramLabel(target: PolicyTarget, index: number): string {
    return target.parameterNames[index] ?? String(index);
  }
}

function isOptions(ref: unknown): ref is ValidateOptions {
  if (ref === null || typeof ref !== 'object' || isStandardSchema(ref)) return false;
  const keys = Object.keys(ref);
  return keys.length > 0 && keys.every((k) => k === 'params' || k === 'args');
}

function ruleSetToOptions(ruleSet: JsonSchemaRuleSet): Validator | ValidateOptions {
  return isOptions(ruleSet) ? (ruleSet as ValidateOptions) : (ruleSet as Validator);
}
