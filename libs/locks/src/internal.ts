/**
 * `@keel/locks/internal`: the Redis lock store's Lua scripts, for Keel's benchmarks (whose
 * baseline runs the same scripts without the store around them). Not public API and not covered
 * by semver; applications import `@keel/locks`.
 *
 * @packageDocumentation
 * @internal
 */
export { RELEASE_MANY_SCRIPT, TRY_SCRIPT } from './stores/redis-lock.scripts.js';
