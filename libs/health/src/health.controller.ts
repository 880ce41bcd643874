import { Controller, Get, Header, Inject, Res, type Type } from '@nestjs/common';
import { HealthCheck } from '@nestjs/terminus';
import { KeelMetrics } from '@keel/core';
import { KeelHealthService } from './health.service.js';

/** Creates the controller serving `/<path>/live` and `/<path>/ready`. @internal */
export function createHealthController(path: string): Type<unknown> {
  @Controller(path)
  class KeelHealthController {
    constructor(@Inject(KeelHealthService) private readonly health: KeelHealthService) {}

    @Get('live')
    @HealthCheck()
    live() {
      return this.health.live();
    }

    @Get('ready')
    @HealthCheck()
    ready() {
      return this.health.ready();
    }
  }
  return KeelHealthController;
}

interface ResponseLike {
  setHeader(name: string, value: string): unknown;
  send(body: string): unknown;
}

/** Creates the controller serving Prometheus metrics at `/<path>`. @internal */
export function createMetricsController(path: string): Type<unknown> {
  @Controller(path)
  class KeelMetricsController {
    constructor(@Inject(KeelMetrics) private readonly metrics: KeelMetrics) {}

    @Get()
    @Header('Cache-Control', 'no-store')
    async scrape(@Res() res: ResponseLike): Promise<void> {
      res.setHeader('Content-Type', this.metrics.contentType);
      res.send(await this.metrics.render());
    }
  }
  return KeelMetricsController;
}
