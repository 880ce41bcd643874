import { connect } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { KeelMetrics } from '@keel/core';
import type { Counter } from 'prom-client';
import type {
  ActiveCheckSpec,
  CheckResult,
  ServiceInstance,
} from './interfaces/instance.interface.js';
import { resolveMonitorLease, type MonitorLease } from './health-check.lease.js';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { RecordCodec } from './record.codec.js';
import { MONITOR_HEADER, REGISTRY_SETTINGS } from './registry.constants.js';
import { instanceJudged, monitoring, monitorLeaseLost } from './registry.messages.js';
import { REGISTRY_METRICS } from './registry.metrics.js';
import { PROBE_DEFAULTS } from './registry.settings.js';
import { RegistryStore } from './stores/registry.store.js';
import { ServiceDiscovery } from './service-discovery.js';

interface Streak {
  result: CheckResult;
  count: number;
}

/**
 * Runs the active checks (HTTP, TCP) of this application's service against every instance of
 * it, but only while this instance holds the service's monitor lease: one monitor per service
 * across the fleet, not N² probing. The lease is a @keel/locks lock when the application imports
 * `LocksModule` (resolved at bootstrap; @keel/locks stays optional), else the registry store's. A status changes only after N consecutive equal results,
 * and the write is fenced by the lease token so a monitor that lost its lease cannot overwrite
 * the new monitor's verdicts.
 * @publicApi
 */
@Injectable()
export class HealthCheckMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelRegistry');
  private readonly codec: RecordCodec;
  private readonly streaks = new Map<string, Streak>();
  private readonly probes: Counter<'service' | 'result'>;
  private token: string | undefined;
  private lease: MonitorLease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(RegistryStore) private readonly store: RegistryStore,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(ServiceDiscovery) private readonly discovery: ServiceDiscovery,
    @Inject(KeelMetrics) metrics: KeelMetrics,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.codec = new RecordCodec(settings.secret);
    this.probes = metrics.counter(REGISTRY_METRICS.probes);
  }

  /** True while this instance holds its service's monitor lease. */
  get isMonitor(): boolean {
    return this.token !== undefined;
  }

  /**
   * Where the monitor lease lives once the monitor runs: `'locks'` when the application imports
   * @keel/locks' `LocksModule`, else `'store'` (the registry store's own lease).
   */
  get leaseSource(): 'locks' | 'store' | undefined {
    return this.lease?.source;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { service, checks } = this.settings;
    if (service === undefined || (checks.http === undefined && checks.tcp === undefined)) return;
    this.lease = await resolveMonitorLease(this.moduleRef, this.store);
    if (this.stopped) return;
    this.timer = setInterval(() => {
      this.round ??= this.tick().finally(() => {
        this.round = undefined;
      });
    }, checks.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
    const token = this.token;
    this.token = undefined;
    if (token !== undefined && this.settings.service && this.lease) {
      // Hand over at once instead of leaving the fleet unmonitored until the lease expires.
      await this.lease.release(this.settings.service.name, token).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    const service = this.settings.service!;
    const lease = this.lease!;
    const leaseMs = this.settings.checks.intervalMs * 3;
    try {
      if (this.token !== undefined && !(await lease.renew(service.name, this.token, leaseMs))) {
        this.logger.log(monitorLeaseLost({ service: service.name }));
        this.token = undefined;
        this.streaks.clear();
      }
      if (this.token === undefined) {
        this.token = await lease.acquire(service.name, service.instanceId, leaseMs);
        if (this.token !== undefined)
          this.logger.log(monitoring({ service: service.name, lease: this.token }));
      }
    } catch {
      return; // registry unreachable: nobody can write verdicts anyway
    }
    if (this.token === undefined || this.stopped) return;
    const instances = this.discovery
      .instances(service.name, { includeUnhealthy: true })
      .filter((i) => i.status !== 'draining' && i.checks.length > 0);
    const seen = new Set<string>();
    await Promise.all(
      instances.map(async (instance) => {
        seen.add(instance.id);
        const result = await this.probe(instance);
        this.probes.inc({ service: service.name, result });
        await this.judge(instance, result);
      }),
    );
    for (const id of this.streaks.keys()) if (!seen.has(id)) this.streaks.delete(id);
  }

  private async judge(instance: ServiceInstance, result: CheckResult): Promise<void> {
    const streak = this.streaks.get(instance.id);
    if (streak !== undefined && streak.result === result) streak.count += 1;
    else this.streaks.set(instance.id, { result, count: 1 });
    const count = this.streaks.get(instance.id)!.count;
    const needed =
      result === 'passing'
        ? this.settings.checks.successesBeforePassing
        : this.settings.checks.failuresBeforeCritical;
    const current =
      instance.status === 'critical' || instance.status === 'warning' ? instance.status : 'passing';
    if (count < needed || current === result || this.token === undefined) return;
    try {
      const outcome = await this.store.setStatus(
        instance.service,
        instance.id,
        'health',
        result,
        this.codec.proof(instance.service, instance.id),
        this.token,
      );
      if (outcome === 'fenced') this.token = undefined;
      else if (outcome === 'ok')
        this.logger.log(instanceJudged({ id: instance.id, service: instance.service, result }));
    } catch {
      // Retried on the next round: the streak still holds.
    }
  }

  private async probe(instance: ServiceInstance): Promise<CheckResult> {
    let worst: CheckResult = 'passing';
    for (const check of instance.checks) {
      const result = await runCheck(instance, check, this.settings.service!.instanceId);
      if (result === 'critical') return 'critical';
      if (result === 'warning') worst = 'warning';
    }
    return worst;
  }
}

async function runCheck(
  instance: ServiceInstance,
  check: ActiveCheckSpec,
  monitorId: string,
): Promise<CheckResult> {
  const timeoutMs = check.timeoutMs ?? PROBE_DEFAULTS[check.type].timeoutMs;
  if (check.type === 'http') {
    const host = instance.address.host.includes(':')
      ? `[${instance.address.host}]`
      : instance.address.host;
    try {
      const response = await fetch(`http://${host}:${instance.address.port}${check.path}`, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { [MONITOR_HEADER]: monitorId },
      });
      await response.body?.cancel();
      return response.status === (check.expectStatus ?? PROBE_DEFAULTS.http.expectStatus)
        ? 'passing'
        : 'critical';
    } catch {
      return 'critical';
    }
  }
  const port =
    check.port === undefined ? instance.address.port : instance.address.ports?.[check.port];
  if (port === undefined) return 'critical';
  return new Promise<CheckResult>((resolve) => {
    const socket = connect({ host: instance.address.host, port });
    const finish = (result: CheckResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('critical'), timeoutMs);
    socket.once('connect', () => finish('passing'));
    socket.once('error', () => finish('critical'));
  });
}
