/**
 * `@keel/locks/internal`: what Keel's own benchmarks and tests need from this lib — the Redis
 * lock store's Lua scripts (the benchmark's baseline runs them without the store around them) and
 * the metric definitions. Not public API and not covered by semver; applications import
 * `@keel/locks`.
 *
 * @packageDocumentation
 * @internal
 */
export { RELEASE_MANY_SCRIPT, TRY_SCRIPT } from './stores/redis-lock.lua.js';
export { LOCKS_METRICS } from './locks.metrics.js';
