import { BulkheadRejectedError } from '../coordination.errors.js';

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
}

/** Limits of a bulkhead. @internal */
export interface BulkheadLimits {
  readonly name: string;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
}

/**
 * An in-process semaphore with a bounded FIFO queue. A released slot passes straight to the
 * oldest waiter, so a queued call cannot be overtaken by a newcomer.
 * @internal
 */
export class LocalBulkhead {
  active = 0;
  rejectedFull = 0;
  rejectedTimeout = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly limits: BulkheadLimits) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.active < this.limits.maxConcurrent) {
      this.active++;
      return true;
    }
    return false;
  }

  /** Waits for a slot; rejects when the queue is full or the wait times out. */
  wait(): Promise<void> {
    if (this.queue.length >= this.limits.maxQueue) {
      this.rejectedFull++;
      return Promise.reject(
        new BulkheadRejectedError(this.limits.name, 'full', this.limits.queueTimeoutMs),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          this.rejectedTimeout++;
          reject(
            new BulkheadRejectedError(
              this.limits.name,
              'queue-timeout',
              this.limits.queueTimeoutMs,
            ),
          );
        }, this.limits.queueTimeoutMs),
      };
      this.queue.push(waiter);
    });
  }

  /** Gives a slot back (to the oldest waiter, if any). */
  release(): void {
    const waiter = this.queue.shift();
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.resolve();
      return;
    }
    this.active--;
  }

  /** Rejects every waiter (shutdown). */
  close(): void {
    for (const waiter of this.queue.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(
        new BulkheadRejectedError(this.limits.name, 'full', this.limits.queueTimeoutMs),
      );
    }
  }
}
