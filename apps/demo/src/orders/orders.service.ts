import { Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '@keel/audit';
import { RequestContext, Timed } from '@keel/core';
import { CircuitBreaker, Fallback, Retry, Timeout, isTimeoutError } from '@keel/coordination';
import { WithLock, currentLock } from '@keel/locks';
import { EventBus, type KeelCloudEvent } from '@keel/messaging';
import { PaymentsGateway, type Charge } from '../payments/payments.gateway.js';

/** Topic of the orders service's own events (`order.created`). */
export const ORDERS_TOPIC = 'orders';

/** An order of the demo service. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly createdAt: string;
  readonly correlationId?: string;
  status: 'new' | 'paid' | 'payment-pending';
  chargeId?: string;
  /** Fencing token of the lock under which the order was paid. */
  fencingToken?: number;
  /** When the provider's `payment.settled` event for this order was applied (once). */
  settledAt?: string;
}

/** Input of {@link OrdersService.create}. */
export interface CreateOrderInput {
  readonly customerId: string;
  readonly amountCents: number;
}

/** The demo's order book. Kept in memory: the demo shows Keel's plumbing, not persistence. */
@Injectable()
export class OrdersService {
  private readonly orders = new Map<string, Order>();
  /** Events consumed from Kafka, with the correlation id they arrived with. */
  readonly received: { event: unknown; correlationId: string | undefined }[] = [];

  /** How many `payment.settled` events were applied (a redelivered one is not). */
  settlements = 0;

  constructor(
    @Inject(PaymentsGateway) private readonly payments: PaymentsGateway,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(EventBus) private readonly bus: EventBus,
    // Present when DATABASE_URL is set: order.created then goes through the transactional outbox.
    @Optional() @Inject(DataSource) private readonly dataSource?: DataSource,
  ) {}

  @Timed()
  async create(input: CreateOrderInput): Promise<Order> {
    const order: Order = {
      id: randomUUID(),
      customerId: input.customerId,
      amountCents: input.amountCents,
      createdAt: new Date().toISOString(),
      correlationId: RequestContext.correlationId(),
      status: 'new',
    };
    await this.announce(order);
    this.orders.set(order.id, order);
    // Every accepted order leaves one audit event (chained, tamper-evident); recording only
    // enqueues it, so the request does not wait on the store.
    await this.audit.record({
      action: 'order.create',
      category: 'DATA_CHANGE',
      resource: { type: 'order', id: order.id },
      subject: order.customerId,
      tags: ['sox'],
      data: { amountCents: order.amountCents },
    });
    return order;
  }

  /**
   * Publishes `order.created`: with a database, through the outbox in a transaction (a real
   * service would insert the order row in the same one, so the event is sent if and only if the
   * order is stored); without one, straight to the embedded transport.
   */
  private async announce(order: Order): Promise<void> {
    const event = {
      type: 'order.created',
      key: order.customerId,
      subject: `order/${order.id}`,
      data: order,
    };
    if (this.dataSource === undefined) {
      await this.bus.publish(ORDERS_TOPIC, event);
      return;
    }
    await this.dataSource.transaction((manager) =>
      this.bus.publishInTransaction(manager, ORDERS_TOPIC, event),
    );
  }

  /** Applies the provider's `payment.settled` (the caller is @Idempotent: once per order). */
  settle(charge: Charge): void {
    const order = this.orders.get(charge.orderId);
    if (order === undefined) return; // an order of another replica (the demo keeps orders in memory)
    order.settledAt = new Date().toISOString();
    // A charge that timed out here (the order left payment-pending) went through after all.
    order.status = 'paid';
    order.chargeId ??= charge.chargeId;
    this.settlements += 1;
  }

  @Timed()
  find(id: string): Order {
    const order = this.orders.get(id);
    if (order === undefined) throw new NotFoundException(`order ${id} not found`);
    return order;
  }

  /**
   * Charges an order through the payment provider: each attempt is limited to the `payments`
   * policy's timeout, failed attempts are retried with backoff, the breaker (shared by every
   * replica when Redis is configured) stops calling a provider that keeps failing. When the last
   * attempt timed out the charge's outcome is unknown (the provider may still take it and say
   * so with `payment.settled`): the fallback leaves the order `payment-pending`. Any other
   * failure — the provider refused, the breaker is open — is the answer. The lock on the
   * order (fleet-wide with Redis) makes two concurrent pay requests charge it once.
   */
  @Timed()
  @Fallback('markPaymentPending')
  @Retry('payments')
  @CircuitBreaker('payments')
  @Timeout('payments')
  @WithLock('order:{orderId}')
  async pay(orderId: string): Promise<Order> {
    const order = this.find(orderId);
    if (order.status === 'paid') return order;
    const charge = await this.payments.charge(order.id, order.amountCents);
    order.status = 'paid';
    order.chargeId = charge.chargeId;
    // A real service writes with the fencing token (see fencedUpdate) so that a holder that lost
    // its lock cannot overwrite a newer holder's write.
    order.fencingToken = currentLock()?.fencingToken;
    return order;
  }

  /** Fallback of {@link pay}: called with the original arguments and the final error. */
  markPaymentPending(orderId: string, error: unknown): Order {
    if (!isTimeoutError(error)) throw error;
    const order = this.find(orderId);
    order.status = 'payment-pending';
    return order;
  }

  @Timed('OrdersService.recordEvent')
  recordEvent(event: KeelCloudEvent): void {
    this.received.push({ event, correlationId: RequestContext.correlationId() });
  }
}
