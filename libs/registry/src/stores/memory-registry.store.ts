import { createHash } from 'node:crypto';
import type {
  RawRecord,
  RegistryEvent,
  RegistryStore,
  RegistrySubscription,
  ServiceSnapshot,
  StatusField,
  WriteOutcome,
} from './registry.store.js';

interface Entry {
  record: Record<string, unknown>;
  expiresAt: number;
  owner: string;
}

interface Listener {
  services: Set<string>;
  listener: (event: RegistryEvent) => void;
}

const sha1 = (value: string) =>
  value === '' ? '' : createHash('sha1').update(value).digest('hex');

/**
 * The registry in process memory: correct for one process (several applications in one process
 * share it when given the same instance), not for a fleet. Same contract as the Redis store;
 * events are delivered asynchronously, like pub/sub.
 * @publicApi
 */
export class MemoryRegistryStore implements RegistryStore {
  private readonly services_ = new Map<string, Map<string, Entry>>();
  private readonly listeners = new Set<Listener>();
  private readonly leases = new Map<string, { token: string; expiresAt: number }>();
  /** Highest `#<n>` fencing token accepted per service. */
  private readonly fences = new Map<string, bigint>();
  private epoch = 0;

  async now(): Promise<number> {
    return Date.now();
  }

  async register(
    service: string,
    id: string,
    json: string,
    ttlMs: number,
    proof: string,
  ): Promise<WriteOutcome> {
    const entries = this.entries(service, true);
    const existing = entries.get(id);
    if (existing && existing.owner !== '' && existing.owner !== sha1(proof)) return 'forbidden';
    const now = Date.now();
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(json) as Record<string, unknown>;
    } catch {
      record = {};
    }
    Object.assign(record, { registeredAt: now, heartbeatAt: now, updatedAt: now });
    const entry: Entry = { record, expiresAt: now + ttlMs, owner: sha1(proof) };
    entries.set(id, entry);
    this.emitUp({ service, id, entry, now });
    return 'ok';
  }

  async heartbeat(
    service: string,
    id: string,
    ttlMs: number,
    proof: string,
  ): Promise<WriteOutcome> {
    const entry = this.services_.get(service)?.get(id);
    const now = Date.now();
    if (entry === undefined || entry.expiresAt < now) return 'missing';
    if (entry.owner !== '' && entry.owner !== sha1(proof)) return 'forbidden';
    entry.record.heartbeatAt = now;
    entry.expiresAt = now + ttlMs;
    return 'ok';
  }

  async setStatus(
    service: string,
    id: string,
    field: StatusField,
    value: string,
    proof: string,
    fence?: string,
  ): Promise<WriteOutcome> {
    const now = Date.now();
    const token = fence?.startsWith('#') ? fence.slice(1) : undefined;
    if (token !== undefined) {
      // A fencing token from another lease (a @keel/locks lock): never lower than one accepted.
      if (!/^\d+$/.test(token) || BigInt(token) < (this.fences.get(service) ?? 0n)) return 'fenced';
    } else if (fence !== undefined) {
      const lease = this.leases.get(service);
      if (lease === undefined || lease.token !== fence || lease.expiresAt <= now) return 'fenced';
    }
    const entry = this.services_.get(service)?.get(id);
    if (entry === undefined || entry.expiresAt < now) return 'missing';
    if (entry.owner !== '' && entry.owner !== sha1(proof)) return 'forbidden';
    const next = field === 'draining' ? value === 'true' : value;
    if (entry.record[field] !== next) {
      entry.record[field] = next;
      entry.record.updatedAt = now;
      this.emitUp({ service, id, entry, now });
    }
    if (token !== undefined) this.fences.set(service, BigInt(token));
    return 'ok';
  }

  async deregister(service: string, id: string, proof: string): Promise<WriteOutcome> {
    const entries = this.services_.get(service);
    const entry = entries?.get(id);
    if (entries === undefined || entry === undefined) return 'missing';
    if (entry.owner !== '' && entry.owner !== sha1(proof)) return 'forbidden';
    entries.delete(id);
    this.emit({ type: 'down', service, id, now: Date.now() });
    return 'ok';
  }

  async snapshot(service: string): Promise<ServiceSnapshot> {
    const now = Date.now();
    const entries = this.services_.get(service);
    const records: RawRecord[] = [];
    if (entries) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt < now) {
          entries.delete(id);
          this.emit({ type: 'down', service, id, now });
        } else {
          records.push({ id, json: JSON.stringify(entry.record), expiresAt: entry.expiresAt });
        }
      }
    }
    return { service, records, now };
  }

  async services(): Promise<string[]> {
    return [...this.services_.keys()];
  }

  async subscribe(
    services: readonly string[],
    listener: (event: RegistryEvent) => void,
  ): Promise<RegistrySubscription> {
    const entry: Listener = { services: new Set(services), listener };
    this.listeners.add(entry);
    return {
      add: async (more) => {
        for (const s of more) entry.services.add(s);
      },
      close: async () => {
        this.listeners.delete(entry);
      },
    };
  }

  async acquireLease(service: string, owner: string, ttlMs: number): Promise<string | undefined> {
    const now = Date.now();
    const lease = this.leases.get(service);
    if (lease !== undefined && lease.expiresAt > now) return undefined;
    this.epoch += 1;
    const token = `${owner}:${this.epoch}`;
    this.leases.set(service, { token, expiresAt: now + ttlMs });
    return token;
  }

  async renewLease(service: string, token: string, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(service);
    const now = Date.now();
    if (lease === undefined || lease.token !== token || lease.expiresAt <= now) return false;
    lease.expiresAt = now + ttlMs;
    return true;
  }

  async releaseLease(service: string, token: string): Promise<void> {
    if (this.leases.get(service)?.token === token) this.leases.delete(service);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private entries(service: string, create: true): Map<string, Entry> {
    let entries = this.services_.get(service);
    if (entries === undefined && create) {
      entries = new Map();
      this.services_.set(service, entries);
    }
    return entries!;
  }

  private emitUp(input: {
    readonly service: string;
    readonly id: string;
    readonly entry: Entry;
    readonly now: number;
  }): void {
    const { service, id, entry, now } = input;
    this.emit({
      type: 'up',
      service,
      record: { id, json: JSON.stringify(entry.record), expiresAt: entry.expiresAt },
      now,
    });
  }

  private emit(event: RegistryEvent): void {
    // Asynchronous like pub/sub, so no caller depends on a listener running inside its write.
    queueMicrotask(() => {
      for (const { services, listener } of this.listeners) {
        if (services.has(event.service)) listener(event);
      }
    });
  }
}
