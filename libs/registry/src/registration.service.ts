import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { KeelConfigError, KeelMetrics } from '@keel/core';
import type { Counter } from 'prom-client';
import type {
  ActiveCheckSpec,
  CheckResult,
  InstanceAddress,
  InstanceIdentity,
} from './interfaces/instance.interface.js';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { RecordCodec } from './record.codec.js';
import { REGISTRY_SETTINGS } from './registry.constants.js';
import {
  addressNeeded,
  customStatusFailed,
  deregistered,
  deregisterFailed,
  heartbeatFailed,
  registered,
  registrationRefused,
} from './registry.messages.js';
import { REGISTRY_METRICS } from './registry.metrics.js';
import { RegistryStore, type StatusField } from './stores/registry.store.js';

/** What this instance's registration looks like now. @publicApi */
export interface RegistrationState {
  /** False for a discovery-only application. */
  readonly enabled: boolean;
  readonly service?: string;
  readonly instanceId?: string;
  readonly address?: InstanceAddress;
  /** The last register or heartbeat write succeeded and the record exists. */
  readonly registered: boolean;
  readonly draining: boolean;
  /** Local time of the last successful heartbeat or registration (ms), if any. */
  readonly lastHeartbeatAt?: number;
  readonly consecutiveFailures: number;
}

interface ServerLike {
  listening?: boolean;
  address(): AddressInfo | string | null;
  once(event: 'listening', listener: () => void): unknown;
  off?(event: 'listening', listener: () => void): unknown;
}

/**
 * Registers this application as an instance of its service once it is listening, heartbeats,
 * re-registers when its record is gone (a Redis restart, an expiry during a pause), runs the
 * instance's custom checks, and at shutdown marks itself `draining`, waits `drainMs` (callers
 * stop choosing it while in-flight calls finish), then deregisters.
 * @publicApi
 */
@Injectable()
export class RegistrationService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelRegistry');
  private readonly codec: RecordCodec;
  private readonly heartbeatFailures: Counter<'service'>;
  private identity: InstanceIdentity | undefined;
  private proof = '';
  private registered = false;
  private draining = false;
  private self: CheckResult = 'passing';
  private lastHeartbeatAt: number | undefined;
  private failures = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private cancelWait: (() => void) | undefined;
  private beat: Promise<void> | undefined;
  private selfStreak = { result: 'passing' as CheckResult, count: 0 };
  private readyWaiters: Array<() => void> = [];

  constructor(
    @Inject(RegistryStore) private readonly store: RegistryStore,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.codec = new RecordCodec(settings.secret);
    this.heartbeatFailures = metrics.counter(REGISTRY_METRICS.heartbeatFailures);
  }

  /** Current registration state. */
  state(): RegistrationState {
    const service = this.settings.service;
    return {
      enabled: service !== undefined,
      ...(service ? { service: service.name, instanceId: service.instanceId } : {}),
      ...(this.identity ? { address: this.identity.address } : {}),
      registered: this.registered,
      draining: this.draining,
      ...(this.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: this.lastHeartbeatAt } : {}),
      consecutiveFailures: this.failures,
    };
  }

  /** Resolves once this instance's record was written (immediately for discovery-only apps). */
  registeredOnce(): Promise<void> {
    if (this.registered || this.settings.service === undefined) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  onApplicationBootstrap(): void {
    const service = this.settings.service;
    if (service === undefined) return;
    const explicit = this.settings.address;
    const server = this.httpServer();
    if ((explicit.host === undefined || explicit.port === undefined) && server === undefined) {
      throw new KeelConfigError([addressNeeded()]);
    }
    // Nest calls this hook before app.listen(): wait for the server without holding bootstrap.
    void this.whenListening(server).then((info) => {
      if (this.stopped) return;
      this.identity = this.buildIdentity(info);
      void this.heartbeat();
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.settings.heartbeatMs);
      this.heartbeatTimer.unref();
      if (this.settings.checks.custom.length > 0) {
        this.checkTimer = setInterval(
          () => void this.runCustomChecks(),
          this.settings.checks.intervalMs,
        );
        this.checkTimer.unref();
      }
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping ??= this.shutdown();
    await this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.cancelWait?.();
    clearInterval(this.checkTimer);
    const identity = this.identity;
    if (identity === undefined) return;
    const { service, id } = identity;
    if (!this.settings.deregisterOnShutdown) {
      clearInterval(this.heartbeatTimer);
      return;
    }
    try {
      this.draining = true;
      await this.store.setStatus(service, id, 'draining', 'true', this.proof);
      if (this.settings.drainMs > 0) {
        // Heartbeats continue while draining, so a drain longer than the TTL is safe.
        await new Promise((resolve) => setTimeout(resolve, this.settings.drainMs));
      }
      clearInterval(this.heartbeatTimer);
      await this.beat;
      await this.store.deregister(service, id, this.proof);
      this.registered = false;
      this.logger.log(deregistered({ id, service }));
    } catch (error) {
      clearInterval(this.heartbeatTimer);
      this.logger.warn(deregisterFailed({ id, service, error: (error as Error).message }));
    }
  }

  /** Publishes a status field of this instance's record. @internal */
  async setStatus(field: StatusField, value: string, fence?: string): Promise<void> {
    if (this.identity === undefined) return;
    await this.store.setStatus(
      this.identity.service,
      this.identity.id,
      field,
      value,
      this.proof,
      fence,
    );
  }

  private heartbeat(): Promise<void> {
    this.beat ??= this.doHeartbeat().finally(() => {
      this.beat = undefined;
    });
    return this.beat;
  }

  private async doHeartbeat(): Promise<void> {
    const identity = this.identity;
    if (identity === undefined) return;
    try {
      let outcome = this.registered
        ? await this.store.heartbeat(identity.service, identity.id, this.settings.ttlMs, this.proof)
        : 'missing';
      if (outcome === 'missing') {
        outcome = await this.store.register(
          identity.service,
          identity.id,
          this.codec.encode(identity, {
            draining: this.draining,
            health: 'passing',
            self: this.self,
          }),
          this.settings.ttlMs,
          this.proof,
        );
        if (outcome === 'ok') {
          this.logger.log(
            registered({
              again: this.registered,
              id: identity.id,
              service: identity.service,
              host: identity.address.host,
              port: identity.address.port,
            }),
          );
        }
      }
      if (outcome !== 'ok') {
        this.registered = false;
        this.failures += 1;
        this.heartbeatFailures.inc({ service: identity.service });
        if (this.failures === 1) {
          this.logger.error(registrationRefused({ id: identity.id, outcome }));
        }
        return;
      }
      this.registered = true;
      this.failures = 0;
      this.lastHeartbeatAt = Date.now();
      for (const resolve of this.readyWaiters.splice(0)) resolve();
    } catch (error) {
      this.failures += 1;
      this.heartbeatFailures.inc({ service: identity.service });
      if (this.failures === 1) {
        this.logger.warn(heartbeatFailed({ error: (error as Error).message }));
      }
    }
  }

  private async runCustomChecks(): Promise<void> {
    let result: CheckResult = 'passing';
    for (const check of this.settings.checks.custom) {
      let r: CheckResult;
      try {
        const value = await check();
        r = value === true ? 'passing' : value === false ? 'critical' : value;
      } catch {
        r = 'critical';
      }
      if (r === 'critical' || (r === 'warning' && result === 'passing')) result = r;
    }
    const streak = this.selfStreak;
    if (streak.result === result) streak.count += 1;
    else this.selfStreak = { result, count: 1 };
    const needed =
      result === 'passing'
        ? this.settings.checks.successesBeforePassing
        : this.settings.checks.failuresBeforeCritical;
    if (this.selfStreak.count >= needed && this.self !== result && !this.stopped) {
      this.self = result;
      try {
        await this.setStatus('self', result);
      } catch (error) {
        this.logger.warn(customStatusFailed({ error: (error as Error).message }));
      }
    }
  }

  private httpServer(): ServerLike | undefined {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter === undefined || adapter === null) return undefined;
    try {
      return (adapter.getHttpServer() as ServerLike | undefined) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private whenListening(server: ServerLike | undefined): Promise<AddressInfo | undefined> {
    if (server === undefined) return Promise.resolve(undefined);
    const current = () => {
      const info = server.address();
      return info !== null && typeof info === 'object' ? info : undefined;
    };
    const now = current();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const onListening = () => resolve(current());
      server.once('listening', onListening);
      this.cancelWait = () => {
        server.off?.('listening', onListening);
        resolve(undefined);
      };
    });
  }

  private buildIdentity(info: AddressInfo | undefined): InstanceIdentity {
    const service = this.settings.service!;
    const explicit = this.settings.address;
    const host = explicit.host ?? advertisedHost(info?.address);
    const port = explicit.port ?? info?.port ?? 0;
    const checks: ActiveCheckSpec[] = [];
    const { http, tcp } = this.settings.checks;
    if (http) checks.push({ type: 'http', ...http });
    if (tcp) checks.push({ type: 'tcp', ...tcp });
    this.proof = this.codec.proof(service.name, service.instanceId);
    return {
      id: service.instanceId,
      service: service.name,
      address: { host, port, ...(explicit.ports ? { ports: { ...explicit.ports } } : {}) },
      version: service.version,
      tags: service.tags,
      metadata: service.metadata,
      weight: service.weight,
      ...(service.zone !== undefined ? { zone: service.zone } : {}),
      checks,
    };
  }
}

/** A wildcard bind is not an address others can use: advertise the first external IPv4. */
function advertisedHost(bound: string | undefined): string {
  if (bound !== undefined && bound !== '::' && bound !== '0.0.0.0' && bound !== '') {
    return bound === '::1' ? '127.0.0.1' : bound.replace(/^::ffff:/, '');
  }
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}
