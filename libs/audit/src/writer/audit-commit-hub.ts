import { Injectable } from '@nestjs/common';
import type { AuditEventInput, AuditRecord } from '../audit-event.js';

/** Called with every batch of events the store has committed, in commit order. @internal */
export type AuditCommitListener = (records: readonly AuditRecord[]) => void | Promise<void>;

/**
 * Connects the writer to what reacts to committed events (anomaly rules, the live tail) without
 * either knowing the other: the writer publishes, listeners subscribe. A listener that throws
 * or rejects is logged by the writer and never fails a batch (the events are already stored).
 * It also lets a listener record events itself (an anomaly is a SECURITY event) through the
 * recorder the AuditService installs, which avoids a provider cycle.
 * @internal
 */
@Injectable()
export class AuditCommitHub {
  private readonly listeners: AuditCommitListener[] = [];
  private readonly closing: (() => Promise<void>)[] = [];
  private recorder: ((event: AuditEventInput) => Promise<void>) | undefined;

  subscribe(listener: AuditCommitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** The current listeners, for the writer to call after each commit. */
  current(): readonly AuditCommitListener[] {
    return this.listeners;
  }

  /**
   * Work to do after the writer has drained and before it closes the store (the final
   * checkpoint): Nest gives no order between providers' shutdown hooks.
   */
  beforeClose(work: () => Promise<void>): void {
    this.closing.push(work);
  }

  /** Runs the beforeClose work, in registration order (called by the writer). */
  async runBeforeClose(): Promise<void> {
    for (const work of this.closing) await work();
  }

  /** Installed by AuditService. */
  setRecorder(recorder: (event: AuditEventInput) => Promise<void>): void {
    this.recorder = recorder;
  }

  /** Records an event through AuditService (for listeners). */
  async record(event: AuditEventInput): Promise<void> {
    if (this.recorder === undefined) return;
    await this.recorder(event);
  }
}
