import { BadRequestException, Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Timed } from '@keel/core';
import { OrdersService, type CreateOrderInput, type Order } from './orders.service.js';

/** Kafka topic the demo publishes new orders to and consumes them from. */
export const ORDER_CREATED_TOPIC = 'orders.created';

@Controller('orders')
export class OrdersController {
  constructor(@Inject(OrdersService) private readonly orders: OrdersService) {}

  @Post()
  @Timed()
  create(@Body() body: Partial<CreateOrderInput> | undefined): Promise<Order> {
    if (
      typeof body?.customerId !== 'string' ||
      body.customerId === '' ||
      typeof body.amountCents !== 'number' ||
      !Number.isInteger(body.amountCents) ||
      body.amountCents <= 0
    ) {
      throw new BadRequestException(
        'customerId (string) and amountCents (positive integer) are required',
      );
    }
    return this.orders.create({ customerId: body.customerId, amountCents: body.amountCents });
  }

  @Timed()
  @Get(':id')
  find(@Param('id') id: string): Order {
    return this.orders.find(id);
  }

  @EventPattern(ORDER_CREATED_TOPIC)
  @Timed()
  onOrderCreated(@Payload() event: unknown, @Ctx() _context: unknown): void {
    this.orders.recordEvent(event);
  }
}
