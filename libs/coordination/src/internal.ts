/**
 * `@keel/coordination/internal`: what Keel's own tests need from this lib and applications should
 * not use — the metric definitions (the README's metrics table is the public statement). Not
 * public API and not covered by semver; applications import `@keel/coordination`.
 *
 * @packageDocumentation
 * @internal
 */
export { COORDINATION_METRICS } from './coordination.metrics.js';
