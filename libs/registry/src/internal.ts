/**
 * `@keel/registry/internal`: what Keel's own tests need from this lib and applications should not
 * use — the metric-name constants (the README's metrics table is the public statement). Not
 * public API and not covered by semver; applications import `@keel/registry`.
 *
 * @packageDocumentation
 * @internal
 */
export { METRICS as REGISTRY_METRICS } from './registry.constants.js';
