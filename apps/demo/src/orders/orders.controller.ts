import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Audited } from '@keel/audit';
import { Timed } from '@keel/core';
import { Validate } from '@keel/coordination';
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

  @Timed()
  @Get(':id')
  @Audited({
    action: 'order.read',
    category: 'DATA_ACCESS',
    resource: { type: 'order', id: '{id}' },
  })
  find(@Param('id') id: string): Order {
    return this.orders.find(id);
  }

  @Post(':id/pay')
  @Timed()
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
  onPaymentSettled(@Payload() event: KeelCloudEvent<Charge>): void {
    this.orders.settle(event.data);
  }
}
