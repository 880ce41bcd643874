import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { redisClosed, redisConnectionError, redisReconnected } from '../core.messages.js';
import { KeelRedisClosedError } from '../core.errors.js';
import type { KeelRedisOptions } from './redis.interfaces.js';

/** A Redis or Redis Cluster client. @publicApi */
export type KeelRedisClient = Redis | Cluster;

/** One connection the factory opened, for health checks. @publicApi */
export interface TrackedRedisConnection {
  /** What the connection is for, e.g. `locks` or `locks:subscriber`. */
  readonly purpose: string;
  /** Host:port list without credentials, safe to show in health output. */
  readonly target: string;
  readonly client: KeelRedisClient;
  readonly subscriber: boolean;
}

/**
 * Opens Redis connections for Keel's stores, per application: one shared command connection
 * per distinct options (every store on the same server shares it), and dedicated subscriber
 * connections for pub/sub. Connections are lazy (opened by the first command) and closed when
 * the application shuts down.
 * @publicApi
 */
@Injectable()
export class RedisConnectionFactory implements OnApplicationShutdown {
  private readonly logger = new Logger('Keel');
  private readonly shared = new Map<string, TrackedRedisConnection>();
  private readonly subscribers = new Set<TrackedRedisConnection>();
  private closed = false;

  /** The shared command connection for `options`. */
  client(options: KeelRedisOptions, purpose = 'keel'): KeelRedisClient {
    this.assertOpen();
    const id = connectionId(options);
    let tracked = this.shared.get(id);
    if (tracked === undefined) {
      tracked = {
        purpose,
        target: describeTarget(options),
        client: createClient(options),
        subscriber: false,
      };
      this.shared.set(id, tracked);
      this.watch(tracked);
    }
    return tracked.client;
  }

  /**
   * A new dedicated connection for `SUBSCRIBE` (a subscribed connection cannot run other
   * commands). Closed with the application, or earlier by the caller with `quit()`.
   */
  subscriber(options: KeelRedisOptions, purpose = 'keel:subscriber'): KeelRedisClient {
    this.assertOpen();
    const tracked: TrackedRedisConnection = {
      purpose,
      target: describeTarget(options),
      client: createClient(options),
      subscriber: true,
    };
    this.subscribers.add(tracked);
    tracked.client.once('end', () => this.subscribers.delete(tracked));
    this.watch(tracked);
    return tracked.client;
  }

  /** Every open connection, for health checks. */
  connections(): readonly TrackedRedisConnection[] {
    return [...this.shared.values(), ...this.subscribers];
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = this.connections();
    this.shared.clear();
    this.subscribers.clear();
    await Promise.all(all.map(({ client }) => closeRedisClient(client)));
  }

  private watch(tracked: TrackedRedisConnection): void {
    let reported = false;
    // Without an 'error' listener ioredis reports every failed reconnect as an unhandled error.
    tracked.client.on('error', (error: Error) => {
      if (!reported) {
        reported = true;
        this.logger.warn(redisConnectionError({ ...tracked, reason: error.message }));
      }
    });
    tracked.client.on('ready', () => {
      if (reported) this.logger.log(redisReconnected(tracked));
      reported = false;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new KeelRedisClosedError(redisClosed());
  }
}

const BASE_OPTIONS: RedisOptions = {
  lazyConnect: true,
  // Keel's stores decide themselves how long a command may wait; a bounded retry count per
  // command keeps a dead server from holding callers forever.
  maxRetriesPerRequest: 2,
  enableAutoPipelining: true,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
};

function createClient(options: KeelRedisOptions): KeelRedisClient {
  if (typeof options === 'string') return new Redis(options, BASE_OPTIONS);
  if ('cluster' in options) {
    return new Cluster([...options.cluster], {
      lazyConnect: true,
      enableAutoPipelining: true,
      ...options.options,
      redisOptions: { maxRetriesPerRequest: 2, ...options.options?.redisOptions },
    });
  }
  return new Redis({ ...BASE_OPTIONS, ...options });
}

/**
 * Closes a Redis connection and resolves once its socket is closed, so no timer or socket
 * outlives the application. A ready connection gets QUIT (bounded by a second: queued commands
 * finish first), and a hard disconnect only when QUIT did not end it. A connection that is not
 * ready is disconnected at once: QUIT would wait for a server that may never answer (a dead
 * Redis at shutdown), and a connection that is reconnecting has no socket left to close.
 * Stores that close a connection before the application does (a subscriber they own) use this
 * too.
 * @internal
 */
export async function closeRedisClient(client: KeelRedisClient): Promise<void> {
  if (client.status === 'end') return;
  // (TypeScript narrows `status` across the awaits below; read it afresh.)
  const isEnded = (): boolean => (client.status as string) === 'end';
  if (client.status !== 'ready') {
    // 'wait' (never connected) ends at once; 'reconnecting' (between attempts) has no socket,
    // and disconnect() clears its reconnect timer (ioredis emits no 'end' then, as for its own
    // QUIT while offline); 'connecting'/'connect' have a socket, which ends shortly.
    if (client.status === 'wait' || client.status === 'reconnecting') {
      client.disconnect();
      return;
    }
    const ended = endOf(client);
    client.disconnect();
    if (!isEnded()) await Promise.race([ended, delay(1_000)]);
    return;
  }
  const ended = endOf(client);
  try {
    await Promise.race([client.quit(), delay(1_000)]);
  } catch {
    // Already gone: nothing left to close.
  }
  // After a clean QUIT ioredis is already ending; disconnect() then would arm a reconnect-guard
  // timer that keeps the process alive for seconds.
  if (!isEnded()) client.disconnect();
  if (!isEnded()) await Promise.race([ended, delay(1_000)]);
}

function endOf(client: KeelRedisClient): Promise<void> {
  return new Promise<void>((resolve) => client.once('end', () => resolve()));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function connectionId(options: KeelRedisOptions): string {
  return typeof options === 'string' ? options : JSON.stringify(options);
}

function describeUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.hostname}:${url.port || '6379'}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** Host:port list of a connection, without user, password or database secrets. @publicApi */
export function describeTarget(options: KeelRedisOptions): string {
  if (typeof options === 'string') return describeUrl(options);
  if ('cluster' in options) {
    return `cluster(${options.cluster
      .map((n) => {
        if (typeof n === 'object') return `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}`;
        if (typeof n === 'number') return `127.0.0.1:${n}`;
        // ioredis reads a string node as a URL, credentials included: show its host and port only.
        return describeUrl(n.includes('://') ? n : `redis://${n}`);
      })
      .join(',')})`;
  }
  if (options.sentinels) return `sentinel(${options.name ?? 'mymaster'})`;
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}
