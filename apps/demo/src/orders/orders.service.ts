import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '@keel/audit';
import { RequestContext, Timed } from '@keel/core';
import { CircuitBreaker, Fallback, Retry, Timeout } from '@keel/coordination';
import { WithLock, currentLock } from '@keel/locks';
import { PaymentsGateway } from '../payments/payments.gateway.js';

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

  constructor(
    @Inject(PaymentsGateway) private readonly payments: PaymentsGateway,
    @Inject(AuditService) private readonly audit: AuditService,
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

  @Timed()
  find(id: string): Order {
    const order = this.orders.get(id);
    if (order === undefined) throw new NotFoundException(`order ${id} not found`);
    return order;
  }

  /**
   * Charges an order through the payment provider: each attempt is limited to the `payments`
   * policy's timeout, failed attempts are retried with backoff, the breaker (shared by every
   * replica when Redis is configured) stops calling a provider that keeps failing, and the
   * fallback leaves the order `payment-pending` instead of failing the request. The lock on the
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
    if (error instanceof NotFoundException) throw error;
    const order = this.find(orderId);
    order.status = 'payment-pending';
    return order;
  }

  @Timed('OrdersService.recordEvent')
  recordEvent(event: unknown): void {
    this.received.push({ event, correlationId: RequestContext.correlationId() });
  }
}
