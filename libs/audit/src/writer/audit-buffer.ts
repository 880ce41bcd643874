import type { PreparedAuditEvent } from '../audit-event.js';

/** One buffered event, and who waits for its commit (sync mode only). @internal */
export interface BufferedEvent {
  readonly event: PreparedAuditEvent;
  /** `performance.now()` when it was buffered, for the lag the health check reports. */
  readonly bufferedAt: number;
  /** Settles a sync-mode record(); `undefined` in async mode (no allocation per event). */
  readonly settle: ((error?: Error) => void) | undefined;
  /** Read back from the spool at startup: the store may hold it already. */
  readonly replayed?: true;
}

/**
 * The writer's FIFO: an array with a moving head, compacted now and then, so taking a batch is
 * O(batch) and adding is O(1) amortised. Bounded by the writer (it counts in-flight events too).
 * @internal
 */
export class AuditBuffer {
  private items: BufferedEvent[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: BufferedEvent): void {
    this.items.push(item);
  }

  /** The oldest buffered event, or `undefined`. */
  peek(): BufferedEvent | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes and returns up to `max` oldest events. */
  take(max: number): BufferedEvent[] {
    const end = Math.min(this.head + max, this.items.length);
    const batch = this.items.slice(this.head, end);
    this.head = end;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4_096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }
}
