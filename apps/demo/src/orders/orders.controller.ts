import { Body, Controller, Get, HttpStatus, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
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

  /**
   * 200 with the paid order; 202 Accepted with a `payment-pending` one (the charge timed out and
   * its outcome comes later as `payment.settled`); a failure answers with its own status and
   * code — 502 `PAYMENT_PROVIDER_FAILED`, 503 `KEEL_CIRCUIT_OPEN` with `Retry-After`, 404.
   * Evicts the cached order once it changed (paid or pending); a failure left it as it was.
   */
  @Post(':id/pay')
  @Timed()
  @CacheEvict({ name: 'order', key: '{id}' })
  async pay(
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Order> {
    const order = await this.orders.pay(id);
    response.status(order.status === 'paid' ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return order;
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
