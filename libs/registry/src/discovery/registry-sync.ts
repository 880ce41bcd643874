import type { Logger } from '@nestjs/common';
import type { RegistrySettings } from '../interfaces/registry-options.interface.js';
import {
  pushChannelUnavailable,
  registryReachable,
  registryUnreachable,
} from '../registry.messages.js';
import type {
  RegistryStore,
  RegistrySubscription,
  ServiceSnapshot,
} from '../stores/registry.store.js';
import type { CacheEntry, DiscoveryCache } from './discovery-cache.js';
import type { RegistryClock } from './registry-clock.js';

/** What the sync is built from. @internal */
export interface RegistrySyncDeps {
  readonly store: RegistryStore;
  readonly settings: RegistrySettings;
  readonly cache: DiscoveryCache;
  readonly clock: RegistryClock;
  readonly logger: Logger;
}

/**
 * Keeps the {@link DiscoveryCache} in step with the store: the push channel (subscribed for
 * every watched service, resubscribed after a failure), a periodic full resync, a resync after
 * every reconnect, and one read per service at a time. When the store is unreachable the cache
 * keeps its lists, flagged stale; when it answers again, the recovery window opens (it may have
 * restarted empty, so instances get time to register again before a resync removes anything).
 * @internal
 */
export class RegistrySync {
  private subscription: RegistrySubscription | undefined;
  private subscribing: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private unreachable = false;
  private stopped = false;

  constructor(private readonly deps: RegistrySyncDeps) {}

  /** Subscribes, reads every watched service once, and starts the periodic resync. */
  async start(): Promise<void> {
    await this.ensureSubscribed();
    await Promise.allSettled([...this.deps.cache.entries.values()].map((e) => this.sync(e)));
    this.resyncTimer = setInterval(() => void this.resyncAll(), this.deps.settings.resyncMs);
    this.resyncTimer.unref();
  }

  /** Adds a newly watched service to the push channel (a failure is healed by the resync). */
  watch(name: string): void {
    void this.subscription?.add([name]).catch(() => undefined);
  }

  /** Reads the service now; a caller arriving while a read is in flight shares it. */
  sync(entry: CacheEntry): Promise<void> {
    entry.inflight ??= this.read(entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  /** Stops the resync and closes the push channel. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.resyncTimer);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close().catch(() => undefined);
  }

  private async ensureSubscribed(): Promise<void> {
    if (this.subscription !== undefined || this.stopped) return;
    this.subscribing ??= this.subscribe().finally(() => {
      this.subscribing = undefined;
    });
    await this.subscribing;
  }

  private async subscribe(): Promise<void> {
    const { store, cache, logger } = this.deps;
    try {
      const subscription = await store.subscribe(
        [...cache.entries.keys()],
        (event) => cache.applyEvent(event),
        () => this.onReconnect(),
      );
      if (this.stopped) {
        await subscription.close();
        return;
      }
      this.subscription = subscription;
      // Services first asked for while subscribing.
      await subscription.add([...cache.entries.keys()]);
    } catch (error) {
      logger.warn(pushChannelUnavailable({ error: (error as Error).message }));
    }
  }

  private onReconnect(): void {
    if (this.stopped) return;
    this.deps.clock.recoveringUntil = Date.now() + this.deps.settings.recoveryMs;
    void this.resyncAll();
  }

  private async resyncAll(): Promise<void> {
    if (this.stopped) return;
    if (this.subscription === undefined) await this.ensureSubscribed();
    await Promise.allSettled([...this.deps.cache.entries.values()].map((e) => this.sync(e)));
  }

  private async read(entry: CacheEntry): Promise<void> {
    if (this.stopped) return;
    const { store, clock, logger } = this.deps;
    let snapshot: ServiceSnapshot;
    const before = Date.now();
    try {
      snapshot = await store.snapshot(entry.service);
    } catch (error) {
      if (!this.unreachable) logger.warn(registryUnreachable({ error: (error as Error).message }));
      this.unreachable = true;
      if (entry.loaded) entry.stale = true;
      return;
    }
    if (this.stopped) return;
    const after = Date.now();
    clock.offsetMs = snapshot.now - (before + after) / 2;
    if (this.unreachable) {
      // The registry may have restarted empty: give instances time to register again before
      // a resync may remove anything.
      this.unreachable = false;
      clock.recoveringUntil = Math.max(
        clock.recoveringUntil,
        after + this.deps.settings.recoveryMs,
      );
      logger.log(registryReachable());
    }
    this.deps.cache.applySnapshot(entry, snapshot, after);
  }
}
