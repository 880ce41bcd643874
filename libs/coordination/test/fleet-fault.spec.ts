import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  CircuitBreaker,
  CircuitBreakerRegistry,
  CoordinationHealthIndicator,
} from '@keel/coordination';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { bootApp } from './support.js';

@Injectable()
class Inventory {
  failing = false;

  @CircuitBreaker({
    name: 'inventory',
    store: 'redis',
    consecutiveFailures: 2,
    openDurationMs: 60_000,
  })
  async reserve() {
    if (this.failing) throw new Error('inventory down');
    return 'reserved';
  }
}

describe('fleet breakers when Redis is down at startup', () => {
  let redis: RedisServerHandle | undefined;
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
    await redis?.stop();
  });

  it('serve on local breakers, report degraded, then join (pub/sub included) once Redis starts', async () => {
    redis = await startRedisServer();
    await redis.stop();
    const core = {
      redis: redis.url,
      redisKeyPrefix: `${uniquePrefix('fleet-fault')}:`,
      serviceName: 'inventory',
    };
    // A long refresh interval: the state change below can only arrive by pub/sub.
    const coordination = { fleet: { refreshIntervalMs: 600_000, commandTimeoutMs: 200 } };
    for (let i = 0; i < 2; i++)
      apps.push(await bootApp({ providers: [Inventory] }, { core, coordination }));
    const [a, b] = apps;
    for (const app of apps) {
      expect(app.get(CircuitBreakerRegistry).fleetStatus()).toMatchObject({
        available: false,
        store: 'redis',
      });
      await expect(app.get(Inventory).reserve()).resolves.toBe('reserved');
      await expect(app.get(CoordinationHealthIndicator).check()).resolves.toMatchObject({
        status: 'degraded',
        details: { fleet: { available: false } },
      });
    }
    await redis.start();
    for (const app of apps) {
      await waitFor(() => app.get(CircuitBreakerRegistry).fleetStatus().available, {
        timeoutMs: 15_000,
        message: 'joined the fleet',
      });
      await expect(app.get(CoordinationHealthIndicator).check()).resolves.toMatchObject({
        status: 'up',
      });
    }
    a.get(Inventory).failing = true;
    await expect(a.get(Inventory).reserve()).rejects.toThrow('inventory down');
    await expect(a.get(Inventory).reserve()).rejects.toThrow('inventory down');
    await waitFor(() => b.get(CircuitBreakerRegistry).get('inventory')?.state === 'open', {
      timeoutMs: 5_000,
      message: 'the other application sees the breaker open',
    });
    await expect(b.get(Inventory).reserve()).rejects.toMatchObject({ code: 'KEEL_CIRCUIT_OPEN' });
    // isolate/reset from one application apply to the fleet.
    await b.get(CircuitBreakerRegistry).reset('inventory');
    await waitFor(() => a.get(CircuitBreakerRegistry).get('inventory')?.state === 'closed', {
      message: 'reset everywhere',
    });
  });
});
