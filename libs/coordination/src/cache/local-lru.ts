/** One value held in process. @internal */
export interface LocalEntry<V> {
  readonly value: V;
  /** What the value weighs (its encoded size), counted against `maxBytes`. */
  readonly bytes: number;
  /** Epoch ms after which the value is stale. */
  readonly expiresAt: number;
  /** Epoch ms after which the value is gone. */
  readonly staleUntil: number;
}

/** Bounds of a {@link LocalLru}. @internal */
export interface LocalLruOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/**
 * The in-process tier: least-recently-used, bounded by entries and by bytes. A `Map` keeps
 * insertion order, so a hit re-inserts its key and the first key is always the coldest —
 * O(1) per operation without a linked list.
 * @internal
 */
export class LocalLru<V> {
  private readonly entries = new Map<string, LocalEntry<V>>();
  private totalBytes = 0;
  /** Entries dropped to make room (not expiries or deletions). */
  evictions = 0;

  constructor(private readonly options: LocalLruOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The value of `key` and whether it is stale, or `undefined` when absent or gone. */
  get(key: string, now: number): { value: V; stale: boolean } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.staleUntil) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { value: entry.value, stale: now >= entry.expiresAt };
  }

  /** Holds `entry` under `key`, evicting the coldest; false when it alone exceeds `maxBytes`. */
  set(key: string, entry: LocalEntry<V>): boolean {
    this.delete(key);
    if (entry.bytes > this.options.maxBytes || this.options.maxEntries === 0) return false;
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    while (this.entries.size > this.options.maxEntries || this.totalBytes > this.options.maxBytes)
      this.evictColdest();
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  private evictColdest(): void {
    const coldest = this.entries.keys().next();
    if (coldest.done === true) return;
    this.delete(coldest.value);
    this.evictions++;
  }
}
