// The RegistryStore contract, shared by the memory, Redis and Redis Cluster runs.
import { expect, it } from '@jest/globals';
import type { RegistryEvent, RegistryStore } from '@keel/registry';
import { waitFor } from '../../../test/support/wait-for.js';

/** A record as `RegistrationService` writes it, with optional overrides. */
export const record = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    body: '{}',
    sig: '',
    draining: false,
    health: 'passing',
    self: 'passing',
    registeredAt: 0,
    heartbeatAt: 0,
    updatedAt: 0,
    ...extra,
  });

/** The behaviour every store must have. */
export function registryStoreContract(store: () => RegistryStore): void {
  /** Subscribes to `service`, collecting its events in arrival order. */
  async function watch(service: string) {
    const events: RegistryEvent[] = [];
    const sub = await store().subscribe(
      [service],
      (e) => events.push(e),
      () => undefined,
    );
    return { events, sub };
  }

  it('registers with store-clock times and lists the record', async () => {
    const before = await store().now();
    expect(await store().register('a', 'i1', record({ health: 'warning' }), 5_000, '')).toBe('ok');
    const snap = await store().snapshot('a');
    expect(snap.records).toHaveLength(1);
    const r = JSON.parse(snap.records[0].json) as Record<string, number | string>;
    expect(r.health).toBe('warning');
    expect(r.registeredAt).toBeGreaterThanOrEqual(before);
    expect(r.heartbeatAt).toBe(r.registeredAt);
    expect(snap.records[0].expiresAt).toBe(Number(r.registeredAt) + 5_000);
    expect(snap.now).toBeGreaterThanOrEqual(Number(r.registeredAt));
    expect(await store().services()).toContain('a');
  });

  it('heartbeat extends expiry; a missing record answers missing', async () => {
    await store().register('a', 'i1', record(), 5_000, '');
    const first = (await store().snapshot('a')).records[0].expiresAt;
    expect(await store().heartbeat('a', 'i1', 10_000, '')).toBe('ok');
    expect((await store().snapshot('a')).records[0].expiresAt).toBeGreaterThan(first);
    expect(await store().heartbeat('a', 'nope', 10_000, '')).toBe('missing');
  });

  it('prunes expired records in the snapshot and pushes down', async () => {
    const { events, sub } = await watch('a');
    await store().register('a', 'short', record(), 100, '');
    await store().register('a', 'long', record(), 60_000, '');
    await waitFor(() => events.filter((e) => e.type === 'up').length === 2, {
      message: 'two up events',
    });
    await waitFor(async () => (await store().snapshot('a')).records.length === 1, {
      message: 'prune',
    });
    expect((await store().snapshot('a')).records.map((r) => r.id)).toEqual(['long']);
    await waitFor(() => events.some((e) => e.type === 'down' && e.id === 'short'), {
      message: 'down event',
    });
    expect(await store().heartbeat('a', 'short', 1_000, '')).toBe('missing');
    await sub.close();
  });

  it('status changes publish up with the new field; unchanged values publish nothing', async () => {
    const { events, sub } = await watch('a');
    await store().register('a', 'i1', record(), 5_000, '');
    expect(await store().setStatus('a', 'i1', 'draining', 'true', '')).toBe('ok');
    expect(await store().setStatus('a', 'i1', 'draining', 'true', '')).toBe('ok');
    expect(await store().setStatus('a', 'gone', 'self', 'critical', '')).toBe('missing');
    // A change after them marks the end: events arrive in publish order, so anything the
    // unchanged write or the missing instance published would come before the marker's.
    expect(await store().setStatus('a', 'i1', 'self', 'critical', '')).toBe('ok');
    await waitFor(() => events.length >= 3, { message: 'events' });
    expect(events.map((e) => e.type)).toEqual(['up', 'up', 'up']);
    const [, draining, marker] = events;
    if (draining.type === 'up') expect(JSON.parse(draining.record.json).draining).toBe(true);
    if (marker.type === 'up') expect(JSON.parse(marker.record.json).self).toBe('critical');
    await sub.close();
  });

  it('deregister removes and pushes down', async () => {
    const { events, sub } = await watch('a');
    await store().register('a', 'i1', record(), 5_000, '');
    expect(await store().deregister('a', 'i1', '')).toBe('ok');
    expect((await store().snapshot('a')).records).toEqual([]);
    expect(await store().deregister('a', 'i1', '')).toBe('missing');
    await waitFor(() => events.some((e) => e.type === 'down'), { message: 'down' });
    await sub.close();
  });

  it('a write without the owner proof is forbidden', async () => {
    await store().register('a', 'i1', record(), 5_000, 'proof-1');
    expect(await store().register('a', 'i1', record({ health: 'critical' }), 5_000, 'other')).toBe(
      'forbidden',
    );
    expect(await store().register('a', 'i1', record(), 5_000, '')).toBe('forbidden');
    expect(await store().heartbeat('a', 'i1', 5_000, 'other')).toBe('forbidden');
    expect(await store().setStatus('a', 'i1', 'draining', 'true', 'other')).toBe('forbidden');
    expect(await store().deregister('a', 'i1', 'other')).toBe('forbidden');
    expect(JSON.parse((await store().snapshot('a')).records[0].json).health).toBe('passing');
    expect(await store().register('a', 'i1', record(), 5_000, 'proof-1')).toBe('ok');
    expect(await store().deregister('a', 'i1', 'proof-1')).toBe('ok');
  });

  it('the monitor lease is exclusive, renewable, releasable and fences status writes', async () => {
    const t1 = await store().acquireLease('a', 'm1', 5_000);
    expect(t1).toBeDefined();
    expect(await store().acquireLease('a', 'm2', 5_000)).toBeUndefined();
    expect(await store().renewLease('a', t1!, 5_000)).toBe(true);
    await store().register('a', 'i1', record(), 5_000, '');
    expect(await store().setStatus('a', 'i1', 'health', 'critical', '', t1)).toBe('ok');
    await store().releaseLease('a', t1!);
    expect(await store().renewLease('a', t1!, 5_000)).toBe(false);
    const t2 = await store().acquireLease('a', 'm1', 5_000);
    expect(t2).toBeDefined();
    expect(t2).not.toBe(t1);
    // The old token, even from the same owner, no longer writes.
    expect(await store().setStatus('a', 'i1', 'health', 'passing', '', t1)).toBe('fenced');
    expect(JSON.parse((await store().snapshot('a')).records[0].json).health).toBe('critical');
  });

  it('a fencing-token fence (#<n>, a @keel/locks lease) refuses writes older than one accepted', async () => {
    await store().register('a', 'i1', record(), 5_000, '');
    expect(await store().setStatus('a', 'i1', 'health', 'critical', '', '#7')).toBe('ok');
    // The same holder writes again; a newer holder writes; then the former one is refused.
    expect(await store().setStatus('a', 'i1', 'health', 'warning', '', '#7')).toBe('ok');
    expect(await store().setStatus('a', 'i1', 'health', 'passing', '', '#8')).toBe('ok');
    expect(await store().setStatus('a', 'i1', 'health', 'critical', '', '#7')).toBe('fenced');
    expect(await store().setStatus('a', 'i1', 'health', 'critical', '', '#x')).toBe('fenced');
    // Tokens as large as a lock's (beyond what Lua prints exactly) still compare exactly.
    expect(await store().setStatus('a', 'i1', 'health', 'passing', '', '#1796189431098301')).toBe(
      'ok',
    );
    expect(await store().setStatus('a', 'i1', 'health', 'critical', '', '#1796189431098300')).toBe(
      'fenced',
    );
    expect(JSON.parse((await store().snapshot('a')).records[0].json).health).toBe('passing');
    // Per service: another service's tokens start afresh.
    await store().register('b', 'i2', record(), 5_000, '');
    expect(await store().setStatus('b', 'i2', 'health', 'critical', '', '#1')).toBe('ok');
  });

  it('an expired lease can be taken over', async () => {
    const t1 = await store().acquireLease('a', 'm1', 50);
    expect(t1).toBeDefined();
    const t2 = await waitFor(() => store().acquireLease('a', 'm2', 5_000), { message: 'takeover' });
    expect(t2.startsWith('m2:')).toBe(true);
    expect(await store().renewLease('a', t1!, 5_000)).toBe(false);
  });

  it('services are isolated', async () => {
    await store().register('a', 'i1', record(), 5_000, '');
    await store().register('b', 'i2', record(), 5_000, '');
    expect((await store().snapshot('a')).records.map((r) => r.id)).toEqual(['i1']);
    expect((await store().snapshot('b')).records.map((r) => r.id)).toEqual(['i2']);
    expect((await store().snapshot('c')).records).toEqual([]);
  });
}
