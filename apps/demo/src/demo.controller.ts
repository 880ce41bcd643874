import { BadRequestException, Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { InjectKeelCoreSettings, type KeelCoreSettings } from '@keel/core';
import { CircuitBreakerRegistry } from '@keel/coordination';
import { ServiceDiscovery } from '@keel/registry';
import { PaymentsGateway } from './payments/payments.gateway.js';

/** Knobs and views for exploring the demo by hand. */
@Controller('demo')
export class DemoController {
  constructor(
    @Inject(PaymentsGateway) private readonly gateway: PaymentsGateway,
    @Inject(CircuitBreakerRegistry) private readonly breakers: CircuitBreakerRegistry,
    @Inject(ServiceDiscovery) private readonly discovery: ServiceDiscovery,
    @InjectKeelCoreSettings() private readonly settings: KeelCoreSettings,
  ) {}

  /** Switches the simulated payment provider: `{ "mode": "ok" | "failing" | "slow" }`. */
  @Put('payments-gateway')
  setGateway(@Body() body: { mode?: unknown; slowMs?: unknown }): {
    mode: string;
    slowMs: number;
  } {
    if (body?.mode !== 'ok' && body?.mode !== 'failing' && body?.mode !== 'slow') {
      throw new BadRequestException('mode must be ok, failing or slow');
    }
    const { slowMs } = body;
    if (slowMs !== undefined) {
      if (typeof slowMs !== 'number' || !Number.isInteger(slowMs) || slowMs < 0 || slowMs > 60_000)
        throw new BadRequestException('slowMs must be an integer from 0 to 60000');
      this.gateway.slowMs = slowMs;
    }
    this.gateway.mode = body.mode;
    return { mode: this.gateway.mode, slowMs: this.gateway.slowMs };
  }

  /** Every circuit breaker and its state. */
  @Get('breakers')
  listBreakers() {
    return this.breakers.list().map((b) => ({ name: b.name, state: b.state }));
  }

  /** The instances of this service that this replica knows about (from its local cache). */
  @Get('instances')
  instances() {
    return this.discovery.instances(this.settings.serviceName, { includeUnhealthy: true });
  }
}
