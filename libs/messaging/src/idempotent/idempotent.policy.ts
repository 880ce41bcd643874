import { Inject, Logger } from '@nestjs/common';
import { KeelDecoratorError, KeelMetrics } from '@keel/core';
import {
  compileKeyTemplate,
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import type { Counter } from 'prom-client';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import { MESSAGING_SETTINGS } from '../messaging.constants.js';
import { MessagingError } from '../messaging.errors.js';
import { duplicateInProgress, idempotentMisuse } from '../messaging.messages.js';
import { MESSAGING_METRICS } from '../messaging.metrics.js';
import { IdempotencyStore } from '../stores/idempotency.store.js';
import type { IdempotentOptions } from './idempotent.decorator.js';

/** Builds `@Idempotent` interceptors, once per method at bootstrap. @internal */
@PolicyFactoryFor('idempotent')
export class IdempotentPolicyFactory implements PolicyFactory<IdempotentOptions> {
  private readonly logger = new Logger('KeelMessaging');
  private readonly duplicates: Counter<string>;
  private readonly inProgress: Counter<string>;

  constructor(
    @Inject(MESSAGING_SETTINGS) private readonly settings: MessagingSettings,
    @Inject(IdempotencyStore) private readonly store: IdempotencyStore,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.duplicates = metrics.counter(MESSAGING_METRICS.duplicates);
    this.inProgress = metrics.counter(MESSAGING_METRICS.duplicatesInProgress);
  }

  create(options: IdempotentOptions, target: PolicyTarget): PolicyInterceptor {
    for (const name of ['ttlMs', 'leaseMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new KeelDecoratorError(
          idempotentMisuse({
            label: target.label,
            problem: `${name} must be a positive whole number of milliseconds (got ${String(value)})`,
          }),
        );
      }
    }
    const buildKey = compileKeyTemplate(options.key, {
      className: target.className,
      methodName: target.methodName,
      parameterNames: target.parameterNames,
      usage: '@Idempotent key',
    });
    const { idempotency } = this.settings;
    const ttlMs = options.ttlMs ?? idempotency.ttlMs;
    const leaseMs = options.leaseMs ?? idempotency.leaseMs;
    const prefix = idempotency.keyPrefix;
    const method = target.label;
    return async (invocation: Invocation, next: Next) => {
      const key = `${prefix}${buildKey(invocation.args)}`;
      const outcome = await this.store.run({ key, ttlMs, leaseMs }, async () => next(invocation));
      if (outcome.ran) return outcome.value;
      if (outcome.state === 'done') {
        this.duplicates.inc({ method });
        return undefined;
      }
      this.inProgress.inc({ method });
      throw new MessagingError(
        'KEEL_MESSAGING_DUPLICATE_IN_PROGRESS',
        duplicateInProgress({ key, retryAfterMs: outcome.retryAfterMs }),
        { retryAfterMs: outcome.retryAfterMs },
      );
    };
  }
}
