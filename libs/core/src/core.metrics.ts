import type { KeelMetricDefinitions } from './metrics/metric-definitions.js';

/**
 * The metrics `@keel/core` itself declares (see docs/lib-skeleton.md): `@Timed`'s histogram.
 * Every other lib declares its own in `<lib>.metrics.ts`.
 * @internal
 */
export const CORE_METRICS = {
  /** `@Timed()`: the duration of a decorated method, by `name` and `outcome`. */
  methodDuration: {
    name: 'keel_method_duration_seconds',
    help: 'Duration of Keel-decorated method calls, in seconds',
    labelNames: ['name', 'outcome'],
  },
} as const satisfies KeelMetricDefinitions;
