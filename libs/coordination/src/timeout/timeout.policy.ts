import { Inject, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelMetrics, RequestContext } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import { KeelDecoratorError } from '@keel/core';
import type { Counter } from 'prom-client';
import { COORDINATION_SETTINGS, TIMEOUT_CONTEXT_KEY } from '../coordination.constants.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { DEFAULTS } from '../coordination.settings.js';
import { resolvePolicyOptions } from '../policy-options.js';
import { TimeoutError } from '../coordination.errors.js';
import {
  type CoordinationSettings,
  type TimeoutOptions,
} from '../interfaces/coordination-options.interface.js';
import { DeadlineList, PendingCall } from './deadline-list.js';
import { timeoutWithoutDuration } from '../coordination.messages.js';

// The call whose method is running synchronously right now. Set around `next()` only, so it is
// never stale: after the method's first await the slot belongs to whatever runs then.
let running: PendingCall | undefined;

/** @internal */
export function currentCall(): PendingCall | undefined {
  return running;
}

/** Builds `@Timeout` interceptors. @internal */
@PolicyFactoryFor('timeout')
export class TimeoutPolicyFactory
  implements PolicyFactory<number | string | TimeoutOptions | undefined>, BeforeApplicationShutdown
{
  private readonly lists: DeadlineList[] = [];
  private readonly timeouts: Counter<'name'>;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.timeouts = metrics.counter(COORDINATION_METRICS.timeouts);
  }

  beforeApplicationShutdown(): void {
    for (const list of this.lists) list.close();
  }

  create(
    ref: number | string | TimeoutOptions | undefined,
    target: PolicyTarget,
  ): PolicyInterceptor {
    const { options } = resolvePolicyOptions<TimeoutOptions>({
      settings: this.settings,
      kind: 'timeout',
      ref: ref as string | TimeoutOptions | undefined,
      label: target.label,
    });
    const ms = options.ms;
    if (ms === undefined) {
      throw new KeelDecoratorError(timeoutWithoutDuration({ label: target.label }));
    }
    const counter = this.timeouts.labels({ name: target.label });
    const list = new DeadlineList(
      ms,
      () => new TimeoutError(ms, target.label),
      () => counter.inc(),
    );
    this.lists.push(list);

    const invoke = (call: PendingCall, invocation: Invocation, next: Next): unknown => {
      const previous = running;
      running = call;
      try {
        return next(invocation);
      } finally {
        running = previous;
      }
    };

    if (options.signalInContext ?? DEFAULTS.policy.timeout.signalInContext) {
      return (invocation: Invocation, next: Next) => {
        const call = new PendingCall(Date.now() + ms);
        const result = RequestContext.runWithValue(TIMEOUT_CONTEXT_KEY, call, () =>
          invoke(call, invocation, next),
        );
        return isPromiseLike(result) ? list.race(call, result) : result;
      };
    }
    return (invocation: Invocation, next: Next) => {
      const call = new PendingCall(Date.now() + ms);
      const result = invoke(call, invocation, next);
      return isPromiseLike(result) ? list.race(call, result) : result;
    };
  }
}
