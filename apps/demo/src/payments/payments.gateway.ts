import { BadGatewayException, Inject, Injectable } from '@nestjs/common';
import { RateLimit } from '@keel/coordination';
import { EventBus } from '@keel/messaging';

/** Kafka topic (or embedded-transport topic) of the payment provider's events. */
export const PAYMENTS_TOPIC = 'payments';

/** A charge accepted by the payment provider. */
export interface Charge {
  readonly chargeId: string;
  readonly orderId: string;
  readonly amountCents: number;
}

/** What the provider's failure looks like to the client: 502, with a code a client can test. */
export function paymentProviderFailed(): BadGatewayException {
  return new BadGatewayException({
    statusCode: 502,
    code: 'PAYMENT_PROVIDER_FAILED',
    message: 'the payment provider refused the charge; nothing was charged',
  });
}

/**
 * Stands in for a remote payment provider. Its failure mode can be switched at run time
 * (`PUT /demo/payments-gateway`) to watch the retry, breaker and fallback act. Like a real
 * provider, it announces each accepted charge with a `payment.settled` event, which the orders
 * side consumes idempotently.
 */
@Injectable()
export class PaymentsGateway {
  /** `ok`, `failing` (every call throws) or `slow` (every call takes `slowMs`). */
  mode: 'ok' | 'failing' | 'slow' = 'ok';
  slowMs = 2_000;
  calls = 0;

  constructor(@Inject(EventBus) private readonly bus: EventBus) {}

  /**
   * The provider allows so many calls per second to the whole service: the `psp` policy limits
   * every replica together (in Redis when REDIS_URL is set) and queues calls for their turn.
   */
  @RateLimit('psp')
  async charge(orderId: string, amountCents: number): Promise<Charge> {
    this.calls++;
    if (this.mode === 'failing') throw paymentProviderFailed();
    if (this.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, this.slowMs));
    const charge = { chargeId: `ch_${orderId.slice(0, 8)}_${this.calls}`, orderId, amountCents };
    await this.bus.publish(PAYMENTS_TOPIC, {
      type: 'payment.settled',
      key: orderId,
      subject: `order/${orderId}`,
      data: charge,
    });
    return charge;
  }
}
