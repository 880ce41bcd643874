import { randomBytes } from 'node:crypto';
import { RedisScript, type KeelRedisClient } from '@keel/core';
import type {
  BreakerSnapshot,
  BreakerState,
  BreakerStateMessage,
  BreakerStore,
  OutcomeBatch,
  ProbeGrant,
  SharedBreakerPolicy,
} from './breaker.store.js';
import {
  ACQUIRE_PROBE_SCRIPT,
  CONTROL_SCRIPT,
  RECORD_SCRIPT,
  REPORT_PROBE_SCRIPT,
} from './redis-breaker.lua.js';

type ScriptReply = [string, number, number, number, string];
const SCRIPTS = {
  record: new RedisScript<ScriptReply>(RECORD_SCRIPT),
  probe: new RedisScript<[string, ...ScriptReply]>(ACQUIRE_PROBE_SCRIPT),
  report: new RedisScript<ScriptReply>(REPORT_PROBE_SCRIPT),
  control: new RedisScript<ScriptReply>(CONTROL_SCRIPT),
};

/** Options of {@link RedisBreakerStore}. @publicApi */
export interface RedisBreakerStoreOptions {
  /** Command connection (shared). */
  readonly client: KeelRedisClient;
  /** Opens the dedicated pub/sub connection on first `subscribe`. */
  readonly subscriber: () => KeelRedisClient;
  /** Key prefix, e.g. `keel:`. */
  readonly keyPrefix: string;
  /** Breakers are shared by the replicas of one service. */
  readonly serviceName: string;
}

/**
 * Fleet-wide breaker store on Redis. Each breaker has two keys sharing one hash tag
 * (`<prefix>breaker:{<service>:<name>}:state|window`); transitions are decided by Lua scripts
 * and pushed to every replica on the channel `<prefix>breaker:<service>:events`.
 * @publicApi
 */
export class RedisBreakerStore implements BreakerStore {
  readonly kind = 'redis' as const;
  private readonly client: KeelRedisClient;
  private readonly channel: string;
  private readonly epoch = randomBytes(6).toString('hex');
  private subscriber: KeelRedisClient | undefined;
  private readonly listeners = new Set<(message: BreakerStateMessage) => void>();
  private readonly onMessage = (channel: string, text: string): void => {
    if (channel !== this.channel) return;
    const message = parseMessage(text);
    if (message === undefined) return;
    for (const listener of this.listeners) listener(message);
  };

  constructor(private readonly options: RedisBreakerStoreOptions) {
    this.client = options.client;
    this.channel = `${options.keyPrefix}breaker:${options.serviceName}:events`;
  }

  async record(
    name: string,
    policy: SharedBreakerPolicy,
    batch: OutcomeBatch,
  ): Promise<BreakerSnapshot> {
    const reply = await SCRIPTS.record.run(
      this.client,
      2,
      ...this.keys(name),
      batch.calls,
      batch.failures,
      batch.slow,
      batch.trailingFailures,
      batch.hadSuccess ? 1 : 0,
      policy.slidingWindow,
      policy.windowSize,
      policy.minimumCalls,
      policy.failureRateThreshold,
      policy.slowCallRateThreshold,
      policy.consecutiveFailures,
      policy.openDurationMs,
      this.channel,
      name,
      this.epoch,
    );
    return toSnapshot(reply);
  }

  async acquireProbe(name: string, policy: SharedBreakerPolicy): Promise<ProbeGrant> {
    const [permit, ...rest] = await SCRIPTS.probe.run(
      this.client,
      2,
      ...this.keys(name),
      policy.halfOpenProbes,
      policy.openDurationMs,
      policy.probeTimeoutMs,
      this.channel,
      name,
      this.epoch,
    );
    return { permit: permit as ProbeGrant['permit'], snapshot: toSnapshot(rest) };
  }

  async reportProbe(
    name: string,
    policy: SharedBreakerPolicy,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): Promise<BreakerSnapshot> {
    const reply = await SCRIPTS.report.run(
      this.client,
      2,
      ...this.keys(name),
      version,
      outcome,
      policy.halfOpenProbes,
      policy.openDurationMs,
      this.channel,
      name,
      this.epoch,
    );
    return toSnapshot(reply);
  }

  read(name: string): Promise<BreakerSnapshot> {
    return this.control(name, 'read');
  }

  isolate(name: string): Promise<BreakerSnapshot> {
    return this.control(name, 'isolate');
  }

  reset(name: string): Promise<BreakerSnapshot> {
    return this.control(name, 'reset');
  }

  async subscribe(listener: (message: BreakerStateMessage) => void): Promise<void> {
    this.listeners.add(listener);
    if (this.subscriber === undefined) {
      this.subscriber = this.options.subscriber();
      this.subscriber.on('message', this.onMessage);
    }
    // Idempotent on the server; called again after a failed attempt (Redis down at startup).
    // Once subscribed, ioredis re-subscribes by itself after reconnecting.
    await this.subscriber.subscribe(this.channel);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.listeners.clear();
    if (subscriber !== undefined) {
      subscriber.off('message', this.onMessage);
      subscriber.disconnect();
    }
  }

  private async control(
    name: string,
    action: 'read' | 'isolate' | 'reset',
  ): Promise<BreakerSnapshot> {
    const reply = await SCRIPTS.control.run(
      this.client,
      2,
      ...this.keys(name),
      action,
      this.channel,
      name,
      this.epoch,
    );
    return toSnapshot(reply);
  }

  private keys(name: string): [string, string] {
    const tag = `${this.options.keyPrefix}breaker:{${this.options.serviceName}:${name}}`;
    return [`${tag}:state`, `${tag}:window`];
  }
}

function toSnapshot(reply: readonly unknown[]): BreakerSnapshot {
  return {
    state: reply[0] as BreakerState,
    remainingOpenMs: Number(reply[1]),
    probes: Number(reply[2]),
    version: Number(reply[3]),
    epoch: String(reply[4]),
  };
}

function parseMessage(text: string): BreakerStateMessage | undefined {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (typeof m.name !== 'string') return undefined;
    return {
      name: m.name,
      snapshot: {
        state: m.state as BreakerState,
        remainingOpenMs: Number(m.remaining),
        probes: Number(m.probes),
        version: Number(m.version),
        epoch: String(m.epoch),
      },
    };
  } catch {
    return undefined;
  }
}
