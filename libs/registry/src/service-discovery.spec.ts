import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { KeelMetrics, loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { RegistryModuleOptions } from './interfaces/registry-options.interface.js';
import { RecordCodec } from './record.codec.js';
import { resolveRegistrySettings } from './registry.settings.js';
import type {
  RegistryEvent,
  RegistrySubscription,
  ServiceSnapshot,
} from './stores/registry.store.js';
import { ServiceDiscovery } from './service-discovery.js';
import { MemoryRegistryStore } from './stores/memory-registry.store.js';

const codec = new RecordCodec(undefined);
const json = (id: string) =>
  codec.encode(
    {
      id,
      service: 's',
      address: { host: 'h', port: 1 },
      version: '1.0.0',
      tags: [],
      metadata: {},
      weight: 1,
      checks: [],
    },
    { draining: false, health: 'passing', self: 'passing' },
  );

/** A memory store whose reads can be made to fail or answer empty, and whose reconnect can be simulated. */
class ControlledStore extends MemoryRegistryStore {
  mode: 'ok' | 'fail' | 'empty' = 'ok';
  /** Records the store "lost" (a restart without persistence), without any event. */
  readonly lost = new Set<string>();
  reconnect: (() => void) | undefined;

  override async snapshot(service: string): Promise<ServiceSnapshot> {
    if (this.mode === 'fail') throw new Error('down');
    const snap = await super.snapshot(service);
    if (this.mode === 'empty') return { ...snap, records: [] };
    return { ...snap, records: snap.records.filter((r) => !this.lost.has(r.id)) };
  }

  override subscribe(
    services: readonly string[],
    listener: (e: RegistryEvent) => void,
    onReconnect?: () => void,
  ): Promise<RegistrySubscription> {
    this.reconnect = onReconnect;
    return super.subscribe(services, listener);
  }
}

function make(store: ControlledStore, options: RegistryModuleOptions = {}) {
  const core = resolveCoreSettings({
    serviceName: 't',
    redis: false,
    config: loadKeelConfig({ env: {} }),
  });
  const settings = resolveRegistrySettings({ discover: ['s'], resyncMs: 60_000, ...options }, core);
  return new ServiceDiscovery(store, settings, new KeelMetrics());
}

const ids = (d: ServiceDiscovery) => d.instances('s', { includeUnhealthy: true }).map((i) => i.id);

describe('ServiceDiscovery cache (fake timers)', () => {
  let discovery: ServiceDiscovery | undefined;
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] });
  });
  afterEach(async () => {
    await discovery?.onApplicationShutdown();
    discovery = undefined;
    jest.useRealTimers();
  });

  it('drops an instance that stops heartbeating when its TTL is up, not before', async () => {
    const store = new ControlledStore();
    await store.register('s', 'dead', json('dead'), 1_000, '');
    await store.register('s', 'live', json('live'), 1_000, '');
    discovery = make(store);
    await discovery.onApplicationBootstrap();
    expect(ids(discovery)).toEqual(['dead', 'live']);
    for (let t = 0; t < 4; t++) {
      await jest.advanceTimersByTimeAsync(300);
      await store.heartbeat('s', 'live', 1_000, '');
    }
    // 1 200 ms later: 'dead' expired at 1 000 ms and was pruned by the expiry re-read.
    expect(ids(discovery)).toEqual(['live']);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(ids(discovery)).toEqual([]);
  });

  it('an empty answer empties the cache only after emptyConfirmMs', async () => {
    const store = new ControlledStore();
    await store.register('s', 'a', json('a'), 60_000, '');
    discovery = make(store, { emptyConfirmMs: 1_000 });
    await discovery.onApplicationBootstrap();
    store.mode = 'empty';
    await discovery.refresh('s');
    expect(ids(discovery)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(500);
    await discovery.refresh('s');
    expect(ids(discovery)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(600);
    expect(ids(discovery)).toEqual([]);
  });

  it('while recovering from an outage, definitive down events still apply and new instances appear', async () => {
    const store = new ControlledStore();
    await store.register('s', 'a', json('a'), 60_000, '');
    await store.register('s', 'b', json('b'), 60_000, '');
    discovery = make(store, { recoveryMs: 2_000 });
    await discovery.onApplicationBootstrap();
    store.mode = 'fail';
    await discovery.refresh('s');
    expect(discovery.cacheState('s')).toMatchObject({ stale: true, instances: 2 });
    store.mode = 'ok';
    store.reconnect?.();
    await jest.advanceTimersByTimeAsync(10);
    expect(discovery.cacheState('s')).toMatchObject({ stale: false, instances: 2 });
    await store.deregister('s', 'b', '');
    await store.register('s', 'c', json('c'), 60_000, '');
    await jest.advanceTimersByTimeAsync(10);
    expect(ids(discovery)).toEqual(['a', 'c']);
  });

  it('keeps a record missing from a read while recovering, and drops it once the window closes', async () => {
    const store = new ControlledStore();
    await store.register('s', 'a', json('a'), 60_000, '');
    discovery = make(store, { recoveryMs: 2_000, emptyConfirmMs: 0 });
    await discovery.onApplicationBootstrap();
    store.mode = 'fail';
    await discovery.refresh('s');
    // Redis restarted without data and without events: 'a' did not come back (yet).
    store.lost.add('a');
    store.mode = 'ok';
    await store.register('s', 'z', json('z'), 60_000, '');
    await discovery.refresh('s');
    expect(ids(discovery)).toEqual(['a', 'z']);
    await jest.advanceTimersByTimeAsync(2_100);
    await discovery.refresh('s');
    expect(ids(discovery)).toEqual(['z']);
  });

  it('watch() emits the current list, then changes', async () => {
    const store = new ControlledStore();
    await store.register('s', 'a', json('a'), 60_000, '');
    discovery = make(store);
    await discovery.onApplicationBootstrap();
    const seen: string[][] = [];
    const sub = discovery.watch('s').subscribe((list) => seen.push(list.map((i) => i.id)));
    await store.register('s', 'b', json('b'), 60_000, '');
    await jest.advanceTimersByTimeAsync(1);
    await store.deregister('s', 'a', '');
    await jest.advanceTimersByTimeAsync(1);
    sub.unsubscribe();
    expect(seen).toEqual([['a'], ['a', 'b'], ['b']]);
  });
});
