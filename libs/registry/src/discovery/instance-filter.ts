import semver from 'semver';
import type { ServiceInstance } from '../interfaces/instance.interface.js';
import type { InstanceFilter } from '../interfaces/discovery.interface.js';

/** True when the filter narrows by tags, version or metadata (the zone is handled apart). @internal */
export function hasFilter(filter: InstanceFilter): boolean {
  return filter.tags !== undefined || filter.version !== undefined || filter.metadata !== undefined;
}

/** True when `instance` has every tag, every metadata value and a version in the range. @internal */
export function matches(instance: ServiceInstance, filter: InstanceFilter): boolean {
  if (filter.tags !== undefined && !filter.tags.every((t) => instance.tags.includes(t)))
    return false;
  if (filter.metadata !== undefined) {
    for (const [k, v] of Object.entries(filter.metadata))
      if (instance.metadata[k] !== v) return false;
  }
  if (filter.version !== undefined) {
    const version = semver.valid(instance.version);
    if (version === null || !semver.satisfies(version, filter.version, { includePrerelease: true }))
      return false;
  }
  return true;
}

/** The key a filtered pool is cached under (tags, version and metadata; not the zone). @internal */
export function filterKey(filter: InstanceFilter): string {
  return `${filter.tags?.join('\u0000') ?? ''}\u0001${filter.version ?? ''}\u0001${
    filter.metadata ? JSON.stringify(filter.metadata) : ''
  }`;
}
