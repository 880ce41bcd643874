import { createPolicyDecorator } from '../engine/trampoline.js';

/** Options of {@link Timed}. @publicApi */
export interface TimedOptions {
  /** Value of the `name` label. @default 'ClassName.methodName' */
  readonly name?: string;
  /** Histogram buckets in seconds. @default prom-client's defaults (5 ms … 10 s) */
  readonly buckets?: readonly number[];
}

/**
 * Records the method's duration in the histogram `keel_method_duration_seconds`, labelled
 * `name` and `outcome` (`success`, a Keel error code, `http_<status>` or `error`). Works on HTTP
 * handlers, microservice handlers and provider methods, sync or async.
 *
 * @example
 * ```ts
 * @Get(':id')
 * @Timed()
 * find(@Param('id') id: string) { ... }
 * ```
 * @publicApi
 */
export function Timed(nameOrOptions?: string | TimedOptions): MethodDecorator {
  const options: TimedOptions =
    typeof nameOrOptions === 'string' ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return createPolicyDecorator('timed', options);
}
