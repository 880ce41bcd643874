import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Audited } from '@keel/audit';
import { Timed } from '@keel/core';
import { Validate } from '@keel/coordination';
import { OrdersService, type CreateOrderInput, type Order } from './orders.service.js';

/** Kafka topic the demo consumes new-order events from. */
export const ORDER_CREATED_TOPIC = 'orders.created';

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

  @EventPattern(ORDER_CREATED_TOPIC)
  @Timed()
  onOrderCreated(@Payload() event: unknown, @Ctx() _context: unknown): void {
    this.orders.recordEvent(event);
  }
}
