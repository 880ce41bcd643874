import { Inject, Injectable } from '@nestjs/common';
import {
  RedisConnectionFactory,
  describeTarget,
  type KeelCoreSettings,
  type KeelHealthCheck,
  type KeelHealthReport,
  type KeelRedisClient,
} from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { HealthProbeError } from './health.errors.js';
import { redisNotReady } from './health.messages.js';

/**
 * Pings Keel's Redis. A connection that is not `ready` is reported down at once, without a
 * command that would wait in ioredis' offline queue; the details name host and port only.
 * @internal
 */
@Injectable()
export class RedisHealthCheck implements KeelHealthCheck {
  constructor(
    @Inject(KEEL_CORE_SETTINGS) private readonly settings: KeelCoreSettings,
    @Inject(RedisConnectionFactory) private readonly connections: RedisConnectionFactory,
  ) {}

  async check(): Promise<KeelHealthReport> {
    const redis = this.settings.redis;
    if (redis === undefined) return { status: 'up', details: { backend: 'memory' } };
    const client = this.connections.client(redis, 'keel');
    const target = describeTarget(redis);
    if (client.status === 'wait') {
      await client.connect().catch(() => undefined);
    }
    if (client.status !== 'ready') {
      return { status: 'down', details: { target, message: redisNotReady(client) } };
    }
    const started = performance.now();
    try {
      await ping(client);
    } catch (error) {
      return { status: 'down', details: { target, message: (error as Error).message } };
    }
    return { status: 'up', details: { target, rttMs: round(performance.now() - started) } };
  }
}

async function ping(client: KeelRedisClient): Promise<void> {
  const reply = await client.ping();
  if (reply !== 'PONG') throw new HealthProbeError(reply);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
