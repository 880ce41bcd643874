import { Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RequestContext, Timed } from '@keel/core';

/** An order of the demo service. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly createdAt: string;
  readonly correlationId?: string;
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

  @Timed()
  async create(input: CreateOrderInput): Promise<Order> {
    const order: Order = {
      id: randomUUID(),
      customerId: input.customerId,
      amountCents: input.amountCents,
      createdAt: new Date().toISOString(),
      correlationId: RequestContext.correlationId(),
    };
    this.orders.set(order.id, order);
    return order;
  }

  @Timed()
  find(id: string): Order {
    const order = this.orders.get(id);
    if (order === undefined) throw new NotFoundException(`order ${id} not found`);
    return order;
  }

  @Timed('OrdersService.recordEvent')
  recordEvent(event: unknown): void {
    this.received.push({ event, correlationId: RequestContext.correlationId() });
  }
}
