import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Audited } from '@keel/audit';
import { Timed } from '@keel/core';
import { CacheEvict, Cached, Validate } from '@keel/coordination';
import { Idempotent, MessageContext, type KeelCloudEvent } from '@keel/messaging';
import { PAYMENTS_TOPIC, type Charge } from '../payments/payments.gateway.js';
import {
  ORDERS_TOPIC,
  OrdersService,
  type CreateOrderInput,
  type Order,
} from './orders.service.js';

/** What `POST /orders` accepts; any Standard Schema validator works the same way. */
export const CreateOrderSchema = z.object({
  customerId: z.string().min(1).max(64),
  amountCents: z.number().int().positive().max(10_000_000),
});

@Controller('orders')
export class OrdersController {
  constructor(@Inject(OrdersService) private readonly orders: OrdersService) {}

  @Post()
  @Timed()
  @Validate(CreateOrderSchema)
  create(@Body() body: CreateOrderInput): Promise<Order> {
    return this.orders.create(body);
  }

  /**
   * Cached for 5 s in process and, with Redis, for every replica; every read is still audited
   * (`@Audited` sits outside the cache). Paying or settling the order evicts it everywhere.
   */
  @Timed()
  @Get(':id')
  @Audited({
    action: 'order.read',
    category: 'DATA_ACCESS',
    resource: { type: 'order', id: '{id}' },
  })
  @Cached({ name: 'order', key: '{id}', ttlMs: 5_000 })
  async find(@Param('id') id: string): Promise<Order> {
    return this.orders.find(id);
  }

  /** Evicts the cached order after the payment outcome (paid, or pending from the fallback). */
  @Post(':id/pay')
  @Timed()
  @CacheEvict({ name: 'order', key: '{id}' })
  pay(@Param('id') id: string): Promise<Order> {
    return this.orders.pay(id);
  }

  /** The service's own `order.created` events, back from Kafka (or the embedded transport). */
  @EventPattern<string>(ORDERS_TOPIC)
  @Timed()
  onOrderCreated(@Payload() event: KeelCloudEvent<Order>, @Ctx() _context: MessageContext): void {
    this.orders.recordEvent(event);
  }

  /** The provider's `payment.settled`: applied once per order, however often it is delivered. */
  @EventPattern<string>(PAYMENTS_TOPIC)
  @Timed()
  @Idempotent({ key: 'settle:{event.data.orderId}' })
  @CacheEvict({ name: 'order', key: '{event.data.orderId}' })
  async onPaymentSettled(@Payload() event: KeelCloudEvent<Charge>): Promise<void> {
    this.orders.settle(event.data);
  }
}
