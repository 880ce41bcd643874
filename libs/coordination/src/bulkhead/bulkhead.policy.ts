import { Inject, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelDecoratorError, KeelMetrics } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import type { Counter } from 'prom-client';
import { fail } from '../call-shape.js';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { DEFAULTS } from '../coordination.settings.js';
import { resolvePolicyOptions } from '../policy-options.js';
import {
  type BulkheadOptions,
  type CoordinationSettings,
} from '../interfaces/coordination-options.interface.js';
import { BulkheadRejectedError } from '../coordination.errors.js';
import { FleetBulkhead } from './fleet-bulkhead.js';
import { LocalBulkhead } from './local-bulkhead.js';
import { BulkheadSlotStore, InjectBulkheadSlotStore } from './stores/bulkhead-slot.store.js';
import { bulkheadDeclaredTwice } from '../coordination.messages.js';

type AnyBulkhead = LocalBulkhead | FleetBulkhead;

/** Builds `@Bulkhead` interceptors; bulkheads are shared by name. @internal */
@PolicyFactoryFor('bulkhead')
export class BulkheadPolicyFactory
  implements PolicyFactory<string | BulkheadOptions | undefined>, BeforeApplicationShutdown
{
  private readonly bulkheads = new Map<
    string,
    { bulkhead: AnyBulkhead; fingerprint: string; site: string }
  >();
  private readonly rejected: Counter<'name' | 'reason'>;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @InjectBulkheadSlotStore() private readonly slots: BulkheadSlotStore,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    const bulkheads = () => this.bulkheads;
    const reported = new Map<string, number>();
    this.rejected = metrics.counter({
      ...COORDINATION_METRICS.bulkheadRejected,
      collect() {
        for (const [name, { bulkhead }] of bulkheads()) {
          for (const [reason, value] of [
            ['full', bulkhead.rejectedFull],
            ['queue-timeout', bulkhead.rejectedTimeout],
          ] as const) {
            const key = `${name}\u0000${reason}`;
            const delta = value - (reported.get(key) ?? 0);
            if (delta > 0) this.inc({ name, reason }, delta);
            reported.set(key, value);
          }
        }
      },
    });
    metrics.gauge({
      ...COORDINATION_METRICS.bulkheadActive,
      collect() {
        for (const [name, { bulkhead }] of bulkheads()) this.set({ name }, bulkhead.active);
      },
    });
  }

  beforeApplicationShutdown(): void {
    for (const { bulkhead } of this.bulkheads.values()) bulkhead.close();
  }

  create(ref: string | BulkheadOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const { options, policyName } = resolvePolicyOptions<BulkheadOptions>({
      settings: this.settings,
      kind: 'bulkhead',
      ref: ref,
      label: target.label,
    });
    const defaults = DEFAULTS.policy.bulkhead;
    const limits = {
      name: options.name ?? policyName ?? target.label,
      maxConcurrent: options.maxConcurrent ?? defaults.maxConcurrent,
      maxQueue: options.maxQueue ?? defaults.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs ?? defaults.queueTimeoutMs,
    };
    const scope = options.scope ?? defaults.scope;
    const fingerprint = JSON.stringify({ ...limits, scope, leaseMs: options.leaseMs });
    const existing = this.bulkheads.get(limits.name);
    if (existing !== undefined && existing.fingerprint !== fingerprint) {
      throw new KeelDecoratorError(
        bulkheadDeclaredTwice({ site: target.label, name: limits.name, firstSite: existing.site }),
      );
    }
    const async = target.returnsPromise;
    let bulkhead = existing?.bulkhead;
    if (bulkhead === undefined) {
      // Without Redis a fleet bulkhead is this process's own (one process is the whole fleet).
      if (scope === 'fleet' && this.slots.kind === 'redis') {
        bulkhead = new FleetBulkhead({
          limits,
          store: this.slots,
          leaseMs: options.leaseMs ?? defaults.leaseMs,
          commandTimeoutMs: this.settings.fleet.commandTimeoutMs,
        });
      } else {
        bulkhead = new LocalBulkhead(limits);
      }
      this.bulkheads.set(limits.name, { bulkhead, fingerprint, site: target.label });
    }
    return bulkhead instanceof FleetBulkhead
      ? fleetInterceptor(bulkhead)
      : localInterceptor(bulkhead, async);
  }
}

function localInterceptor(bulkhead: LocalBulkhead, async: boolean): PolicyInterceptor {
  const releaseAfter = async (promise: PromiseLike<unknown>) => {
    try {
      return await promise;
    } finally {
      bulkhead.release();
    }
  };
  const runHeld = (invocation: Invocation, next: Next): unknown => {
    let result: unknown;
    try {
      result = next(invocation);
    } catch (error) {
      bulkhead.release();
      throw error;
    }
    if (isPromiseLike(result)) return releaseAfter(result);
    bulkhead.release();
    return result;
  };
  return (invocation: Invocation, next: Next) => {
    if (bulkhead.tryAcquire()) return runHeld(invocation, next);
    if (bulkhead.limits.maxQueue === 0 || !async) {
      bulkhead.rejectedFull++;
      return fail(
        new BulkheadRejectedError(bulkhead.limits.name, 'full', bulkhead.limits.queueTimeoutMs),
        async,
      );
    }
    return bulkhead.wait().then(() => runHeld(invocation, next));
  };
}

function fleetInterceptor(bulkhead: FleetBulkhead): PolicyInterceptor {
  return async (invocation: Invocation, next: Next) => {
    const slot = await bulkhead.acquire();
    try {
      return await next(invocation);
    } finally {
      bulkhead.release(slot);
    }
  };
}
