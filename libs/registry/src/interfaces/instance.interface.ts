/**
 * Status of a registered instance.
 * - `passing`: healthy, eligible for `choose()`;
 * - `warning`: degraded but still chosen (a custom check said so);
 * - `critical`: failed its checks N times in a row, never chosen;
 * - `draining`: shutting down gracefully, never chosen, still listed until it deregisters.
 * @publicApi
 */
export type InstanceStatus = 'passing' | 'warning' | 'critical' | 'draining';

/** Result of one health check. @publicApi */
export type CheckResult = 'passing' | 'warning' | 'critical';

/** Where an instance can be reached. @publicApi */
export interface InstanceAddress {
  readonly host: string;
  /** Main (HTTP) port. */
  readonly port: number;
  /**
   * Further named ports, e.g. `{ tcp: 4001 }` for a @nestjs/microservices TCP listener next to
   * the HTTP server.
   */
  readonly ports?: Readonly<Record<string, number>>;
}

/** An active check the fleet's monitor runs against an instance. @publicApi */
export type ActiveCheckSpec =
  | {
      readonly type: 'http';
      /** Path probed on the instance's main port, e.g. `/health`. */
      readonly path: string;
      /** Status meaning healthy. @default 200 */
      readonly expectStatus?: number;
      /** @default 2000 */
      readonly timeoutMs?: number;
    }
  | {
      readonly type: 'tcp';
      /** Named port (see {@link InstanceAddress.ports}), else the main port. */
      readonly port?: string;
      /** @default 2000 */
      readonly timeoutMs?: number;
    };

/**
 * What an instance says about itself, as stored in the registry and signed when a shared secret
 * is configured.
 * @publicApi
 */
export interface InstanceIdentity {
  /** Unique id of the instance (random UUID unless given). */
  readonly id: string;
  /** Service name, e.g. `payments`. */
  readonly service: string;
  readonly address: InstanceAddress;
  /** Semantic version of the service build. */
  readonly version: string;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Relative share of traffic for the weighted strategy. */
  readonly weight: number;
  /** Availability zone, for the zone-preferring strategy. */
  readonly zone?: string;
  /** Active checks the service's monitor runs against this instance. */
  readonly checks: readonly ActiveCheckSpec[];
}

/** One instance as discovery sees it. @publicApi */
export interface ServiceInstance extends InstanceIdentity {
  readonly status: InstanceStatus;
  /** Registration time, Redis server clock (ms since epoch). */
  readonly registeredAt: number;
  /** Last heartbeat, Redis server clock (ms since epoch). */
  readonly heartbeatAt: number;
  /** Last change of the record (registration, status), Redis server clock (ms). */
  readonly updatedAt: number;
  /** When the record expires without a further heartbeat, Redis server clock (ms). */
  readonly expiresAt: number;
}
