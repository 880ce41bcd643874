import { KeelDecoratorError } from '@keel/core';
import type { Ajv, ErrorObject } from 'ajv';
import type { plainToInstance } from 'class-transformer';
import type { ValidationError, validateSync } from 'class-validator';
import type { ValidationProblem } from '../coordination.errors.js';
import type { DtoClass, JsonSchema, StandardSchemaV1, Validator } from './validate.decorator.js';
import { dtoLibrariesMissing, notAnObject } from '../coordination.messages.js';

/**
 * class-validator and class-transformer, or `undefined` when they are not installed: optional
 * peers, needed only by applications that validate DTO classes. Loaded through `import()` (the
 * application's own copies, so the decorators on its DTOs and the validator share their metadata).
 */
const dtoLibraries = await loadDtoLibraries();

async function loadDtoLibraries(): Promise<
  { plainToInstance: typeof plainToInstance; validateSync: typeof validateSync } | undefined
> {
  try {
    const [transformer, validator] = await Promise.all([
      import('class-transformer'),
      import('class-validator'),
    ]);
    return { plainToInstance: transformer.plainToInstance, validateSync: validator.validateSync };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * The error to raise when `validator` is a DTO class and class-validator or class-transformer is
 * not installed; `undefined` when it can be compiled. `where` names the method (or parameter).
 * @internal
 */
export function missingDtoLibraries(
  where: string,
  validator: Validator,
): KeelDecoratorError | undefined {
  if (dtoLibraries !== undefined || isStandardSchema(validator) || !isDtoClass(validator)) {
    return undefined;
  }
  return new KeelDecoratorError(dtoLibrariesMissing({ where, dto: validator.name }));
}

/** Result of validating one value. @internal */
export type CheckResult =
  { ok: true; value: unknown } | { ok: false; problems: ValidationProblem[] };

/** A compiled validator. @internal */
export type Check = (value: unknown) => CheckResult | Promise<CheckResult>;

const BUILT_INS = new Set<unknown>([
  String,
  Number,
  Boolean,
  Object,
  Array,
  Function,
  Promise,
  Symbol,
  BigInt,
  Date,
]);

/** True for a class worth validating with class-validator. @internal */
export function isDtoClass(value: unknown): value is DtoClass {
  return typeof value === 'function' && !BUILT_INS.has(value) && value.prototype !== undefined;
}

/** True for a Standard Schema v1 validator. @internal */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as Partial<StandardSchemaV1>)['~standard']?.validate === 'function'
  );
}

/** Compiles any accepted validator; `prefix` is prepended to problem paths. @internal */
export function compileValidator(validator: Validator, prefix: string, ajv: () => Ajv): Check {
  if (isStandardSchema(validator)) return standardCheck(validator, prefix);
  if (isDtoClass(validator)) return dtoCheck(validator, prefix);
  return jsonSchemaCheck(validator as JsonSchema, prefix, ajv);
}

function join(prefix: string, path: string): string {
  if (prefix === '') return path;
  return path === '' ? prefix : `${prefix}.${path}`;
}

function standardCheck(schema: StandardSchemaV1, prefix: string): Check {
  const convert = (
    result: Awaited<ReturnType<StandardSchemaV1['~standard']['validate']>>,
  ): CheckResult => {
    if (result.issues === undefined) return { ok: true, value: result.value };
    return {
      ok: false,
      problems: result.issues.map((issue) => ({
        path: join(
          prefix,
          (issue.path ?? [])
            .map((p) => String(typeof p === 'object' && p !== null ? p.key : p))
            .join('.'),
        ),
        message: issue.message,
      })),
    };
  };
  return (value) => {
    const result = schema['~standard'].validate(value);
    return result instanceof Promise ? result.then(convert) : convert(result);
  };
}

function dtoCheck(dto: DtoClass, prefix: string): Check {
  if (dtoLibraries === undefined) throw missingDtoLibraries(prefix, dto) as KeelDecoratorError;
  const { plainToInstance, validateSync } = dtoLibraries;
  return (value) => {
    if (value === null || typeof value !== 'object') {
      return {
        ok: false,
        problems: [{ path: prefix, message: notAnObject({ dto: dto.name }) }],
      };
    }
    const instance = value instanceof dto ? value : plainToInstance(dto as new () => object, value);
    const errors = validateSync(instance, { forbidUnknownValues: false });
    if (errors.length === 0) return { ok: true, value: instance };
    const problems: ValidationProblem[] = [];
    flatten(errors, prefix, problems);
    return { ok: false, problems };
  };
}

function flatten(
  errors: readonly ValidationError[],
  prefix: string,
  out: ValidationProblem[],
): void {
  for (const error of errors) {
    const path = join(prefix, error.property);
    for (const message of Object.values(error.constraints ?? {})) out.push({ path, message });
    if (error.children?.length) flatten(error.children, path, out);
  }
}

function jsonSchemaCheck(schema: JsonSchema, prefix: string, ajv: () => Ajv): Check {
  const validate = ajv().compile(schema);
  return (value) => {
    // ajv applies defaults and coercions in place: work on a copy, never on the caller's object.
    const copy = value !== null && typeof value === 'object' ? structuredClone(value) : value;
    if (validate(copy)) return { ok: true, value: copy };
    return { ok: false, problems: (validate.errors ?? []).map((e) => ajvProblem(e, prefix)) };
  };
}

function ajvProblem(error: ErrorObject, prefix: string): ValidationProblem {
  let path = error.instancePath.split('/').filter(Boolean).join('.');
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required' && params.missingProperty)
    path = join(path, params.missingProperty);
  if (error.keyword === 'additionalProperties' && params.additionalProperty) {
    path = join(path, params.additionalProperty);
  }
  return { path: join(prefix, path), message: error.message ?? error.keyword };
}
