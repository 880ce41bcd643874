import { createPolicyDecorator } from '@keel/core/internal';
import type { StandardSchemaV1 as StandardSchemaSpec } from '@standard-schema/spec';

/**
 * The Standard Schema v1 interface (zod 4, valibot, arktype...), the official type from
 * `@standard-schema/spec` (a types-only package), so no schema library is required. See
 * https://standardschema.dev.
 * @publicApi
 */
export type StandardSchemaV1<Input = unknown, Output = Input> = StandardSchemaSpec<Input, Output>;

/** The result of a Standard Schema's `validate`. @publicApi */
export type StandardResult<Output> = StandardSchemaSpec.Result<Output>;

/** A class-validator DTO class (Nest's convention; transformed with class-transformer). @publicApi */
export type DtoClass = new (...args: never[]) => object;

/** A JSON Schema object, validated with ajv (`allErrors`, `useDefaults`, `coerceTypes`). @publicApi */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Anything `@Validate` accepts as a validator. @publicApi */
export type Validator = DtoClass | StandardSchemaV1 | JsonSchema;

/** Options form of `@Validate`. @publicApi */
export interface ValidateOptions {
  /** Per-parameter validators, by parameter name or position. */
  readonly params?: Readonly<Record<string, Validator>>;
  /** One validator for the whole argument list (an array / tuple schema); its output replaces the arguments. */
  readonly args?: Validator;
}

/**
 * Validates the method's arguments before anything else runs (after `@Timed`), reporting every
 * problem at once in a `ValidationFailedError` (HTTP 400 through the module's filter). The
 * method receives the transformed values (defaults, coercions, DTO instances).
 *
 * - `@Validate()` — every parameter whose declared type is a class-validator DTO class;
 * - `@Validate(validator)` — the first parameter, with a DTO class, a Standard Schema (zod,
 *   valibot, arktype) or a JSON Schema object;
 * - `@Validate('createOrder')` — a named JSON Schema rule set from `forRoot({ validation })` or
 *   the YAML section `coordination.validation`;
 * - `@Validate({ params: { dto: CreateOrderDto, 1: z.string().uuid() } })` — per parameter;
 * - `@Validate({ args: z.tuple([...]) })` — the whole argument list.
 *
 * @example
 * ```ts
 * @Post()
 * @Validate({ params: { dto: CreateOrderSchema } })
 * create(@Body() dto: CreateOrder) { ... }
 * ```
 * @publicApi
 */
export function Validate(
  validatorOrRuleSet?: Validator | string | ValidateOptions,
): MethodDecorator {
  return createPolicyDecorator('validate', { ref: validatorOrRuleSet });
}
