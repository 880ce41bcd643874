import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientTCP } from '@nestjs/microservices';
import { defer, finalize, mergeMap, tap, type Observable } from 'rxjs';
import type { ServiceInstance } from './interfaces/instance.interface.js';
import { RegistryArgumentError } from './registry.errors.js';
import { noSuchPort } from './registry.messages.js';
import { ServiceDiscovery, type ChooseOptions } from './service-discovery.js';

/**
 * The `@nestjs/microservices` `ClientTCP` that {@link ServiceClientFactory.client} returns,
 * described by the methods applications call on it, so that @keel/registry's declarations never
 * import `@nestjs/microservices` (an optional peer) and an application without it compiles with
 * `skipLibCheck` off. Cast to `ClientTCP` for anything else.
 * @publicApi
 */
export interface ServiceTcpClient {
  connect(): Promise<unknown>;
  close(): unknown;
  send<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult>;
  emit<TResult = unknown, TInput = unknown>(pattern: unknown, data: TInput): Observable<TResult>;
}

/** Options of {@link ServiceClientFactory.client}. @publicApi */
export interface ServiceClientOptions extends ChooseOptions {
  /**
   * Named port of the instance's TCP listener (see `address.ports`); the main port when absent.
   * @default 'tcp' when the instance declares it, else the main port
   */
  readonly port?: string;
}

/**
 * @nestjs/microservices TCP clients that target an instance chosen through discovery. Clients
 * are pooled per instance and port, closed when the instance leaves the registry and at
 * shutdown. Ask for a client per call (or per batch): each request chooses again.
 *
 * @example
 * ```ts
 * const client = await clients.client('inventory');
 * const stock = await firstValueFrom(client.send('stock.get', { sku }));
 * ```
 * @throws NoInstanceAvailableError when no instance is eligible.
 * @publicApi
 */
@Injectable()
export class ServiceClientFactory implements OnApplicationShutdown {
  private readonly pool = new Map<string, { client: ClientTCP; instance: ServiceInstance }>();
  private readonly watched = new Set<string>();
  private readonly subscriptions: Array<{ unsubscribe(): void }> = [];
  private closed = false;

  constructor(@Inject(ServiceDiscovery) private readonly discovery: ServiceDiscovery) {}

  /** A connected-on-demand TCP client for an instance of `service`. */
  async client(service: string, options: ServiceClientOptions = {}): Promise<ServiceTcpClient> {
    return (await this.pick(service, options)).client;
  }

  /**
   * Sends a request to an instance of `service` chosen for this call, counting it in flight
   * (least-outstanding) and feeding outlier ejection with its outcome (an error counts as a
   * failure). Cold: nothing is chosen or sent until subscription.
   *
   * @example
   * ```ts
   * const stock = await firstValueFrom(clients.send<Stock>('inventory', 'stock.get', { sku }));
   * ```
   */
  // Positional like ClientProxy.send(pattern, data), with the service before and the options
  // after: public API since the first release, so it keeps its four parameters.
  send<TResult = unknown, TInput = unknown>(
    service: string,
    pattern: unknown,
    data: TInput,
    options: ServiceClientOptions = {},
  ): Observable<TResult> {
    return defer(() => this.pick(service, options)).pipe(
      mergeMap(({ client, instance }) => {
        const done = this.discovery.track(instance);
        return client.send<TResult, TInput>(pattern, data).pipe(
          tap({ error: () => done(false) }),
          finalize(() => done(true)),
        );
      }),
    );
  }

  private async pick(
    service: string,
    options: ServiceClientOptions,
  ): Promise<{ client: ClientTCP; instance: ServiceInstance }> {
    if (!this.discovery.isLoaded(service)) await this.discovery.refresh(service);
    const instance = this.discovery.choose(service, options);
    const portName =
      options.port ?? (instance.address.ports?.tcp !== undefined ? 'tcp' : undefined);
    const port =
      portName === undefined ? instance.address.port : instance.address.ports?.[portName];
    if (port === undefined) {
      throw new RegistryArgumentError(noSuchPort({ id: instance.id, service, port: portName }));
    }
    const key = `${instance.id}\u0000${port}`;
    const pooled = this.pool.get(key);
    if (pooled) return pooled;
    this.watchService(service);
    const { ClientTCP } = await import('@nestjs/microservices');
    const entry = this.pool.get(key) ?? {
      client: new ClientTCP({ host: instance.address.host, port }),
      instance,
    };
    this.pool.set(key, entry);
    return entry;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.unsubscribe();
    const all = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(
      all.map(({ client }) => Promise.resolve(client.close()).catch(() => undefined)),
    );
  }

  private watchService(service: string): void {
    if (this.watched.has(service)) return;
    this.watched.add(service);
    this.subscriptions.push(
      this.discovery.watch(service).subscribe((instances) => {
        const live = new Set(instances.map((i) => i.id));
        for (const [key, { client, instance }] of this.pool) {
          if (instance.service === service && !live.has(instance.id)) {
            this.pool.delete(key);
            void Promise.resolve(client.close()).catch(() => undefined);
          }
        }
      }),
    );
  }
}
