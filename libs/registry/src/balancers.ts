import type { ChooseOptions } from './interfaces/discovery.interface.js';
import type { ServiceInstance } from './interfaces/instance.interface.js';
import type { BalancingStrategy } from './interfaces/registry-options.interface.js';
import { RegistryArgumentError } from './registry.errors.js';
import { consistentHashNeedsKey, unknownStrategy } from './registry.messages.js';

const VNODES = 64;

/**
 * What a pick needs besides the pool and the call's options. It is constant per cached service
 * (built once with the cache entry), so a pick allocates nothing.
 * @internal
 */
export interface BalanceContext {
  /** The service, for error messages. */
  readonly service: string;
  /** Calls in flight per instance id, for `least-outstanding`. */
  readonly outstanding: ReadonlyMap<string, number>;
  /** The module's `strategy` option. */
  readonly configured: BalancingStrategy | undefined;
  /** This application's own zone: what `zone` prefers when the call names none. */
  readonly localZone: string | undefined;
}

/**
 * A precomputed, immutable set of eligible instances plus the per-strategy state, rebuilt only
 * when the set changes, so `choose()` does no allocation and no filtering on the call path.
 * @internal
 */
export class Pool {
  /** Cumulative weights for the weighted strategy (undefined when all weights are equal). */
  readonly cumulative: Float64Array | undefined;
  readonly totalWeight: number;
  /** Round-robin cursor. */
  cursor = 0;
  private ring: { hashes: Uint32Array; owners: Uint32Array } | undefined;
  private zoneViews: Map<string, Pool> | undefined;

  constructor(readonly instances: readonly ServiceInstance[]) {
    let total = 0;
    let equal = true;
    const first = instances[0]?.weight;
    const cumulative = new Float64Array(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const w = instances[i].weight;
      if (w !== first) equal = false;
      total += w;
      cumulative[i] = total;
    }
    this.totalWeight = total;
    this.cumulative = equal ? undefined : cumulative;
  }

  /** Strategy used when the caller names none. */
  defaultStrategy(configured: BalancingStrategy | undefined): BalancingStrategy {
    return configured ?? (this.cumulative === undefined ? 'round-robin' : 'weighted');
  }

  /**
   * Picks one instance with the call's strategy (else the module's, else weighted when weights
   * differ, else round-robin). The pool is not empty: the caller checked.
   * @throws RegistryArgumentError for `consistent-hash` without a key, or an unknown strategy.
   */
  pick(context: BalanceContext, options: ChooseOptions | undefined): ServiceInstance {
    const strategy = options?.strategy ?? this.defaultStrategy(context.configured);
    switch (strategy) {
      case 'round-robin':
        return this.roundRobin();
      case 'weighted':
        return this.weighted();
      case 'random':
        return this.random();
      case 'least-outstanding':
        return this.leastOutstanding(context.outstanding);
      case 'consistent-hash':
        if (options?.key === undefined) {
          throw new RegistryArgumentError(consistentHashNeedsKey({ service: context.service }));
        }
        return this.consistentHash(options.key);
      case 'zone': {
        const zone = options?.zone ?? context.localZone;
        const chosen = (zone === undefined ? undefined : this.inZone(zone)) ?? this;
        return chosen.cumulative === undefined ? chosen.roundRobin() : chosen.weighted();
      }
      default:
        throw new RegistryArgumentError(
          unknownStrategy({ service: context.service, strategy: String(strategy) }),
        );
    }
  }

  roundRobin(): ServiceInstance {
    const i = this.cursor;
    this.cursor = i + 1 >= this.instances.length ? 0 : i + 1;
    return this.instances[i < this.instances.length ? i : 0];
  }

  random(): ServiceInstance {
    return this.instances[(Math.random() * this.instances.length) | 0];
  }

  weighted(): ServiceInstance {
    const cumulative = this.cumulative;
    if (cumulative === undefined) return this.random();
    if (this.totalWeight <= 0) return this.random();
    const target = Math.random() * this.totalWeight;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return this.instances[lo];
  }

  /** Fewest calls in flight through Keel's clients; ties broken round-robin. */
  leastOutstanding(outstanding: ReadonlyMap<string, number>): ServiceInstance {
    const n = this.instances.length;
    const start = this.cursor;
    this.cursor = start + 1 >= n ? 0 : start + 1;
    let best = this.instances[start % n];
    let bestCount = outstanding.get(best.id) ?? 0;
    for (let k = 1; k < n && bestCount > 0; k++) {
      const candidate = this.instances[(start + k) % n];
      const count = outstanding.get(candidate.id) ?? 0;
      if (count < bestCount) {
        best = candidate;
        bestCount = count;
      }
    }
    return best;
  }

  /**
   * Consistent hashing on a ring of 64 virtual nodes per instance: when an instance joins or
   * leaves, only the keys on its arcs move.
   */
  consistentHash(key: string): ServiceInstance {
    const ring = (this.ring ??= this.buildRing());
    const h = fnv1a(key);
    const hashes = ring.hashes;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.instances[ring.owners[lo === hashes.length ? 0 : lo]];
  }

  /** The instances in `zone`, or undefined when there are none. */
  inZone(zone: string): Pool | undefined {
    this.zoneViews ??= new Map();
    let view = this.zoneViews.get(zone);
    if (view === undefined) {
      view = new Pool(this.instances.filter((i) => i.zone === zone));
      this.zoneViews.set(zone, view);
    }
    return view.instances.length > 0 ? view : undefined;
  }

  private buildRing(): { hashes: Uint32Array; owners: Uint32Array } {
    const points: Array<[number, number]> = [];
    this.instances.forEach((instance, index) => {
      for (let v = 0; v < VNODES; v++) points.push([fnv1a(`${instance.id}#${v}`), index]);
    });
    points.sort((a, b) => a[0] - b[0]);
    return {
      hashes: Uint32Array.from(points, (p) => p[0]),
      owners: Uint32Array.from(points, (p) => p[1]),
    };
  }
}

/** 32-bit FNV-1a with a final avalanche, enough to spread keys over a ring. @internal */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
