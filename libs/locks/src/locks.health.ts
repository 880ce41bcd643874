import { Inject } from '@nestjs/common';
import { KeelHealthIndicator, type KeelHealthCheck, type KeelHealthReport } from '@keel/core';
import { LockService } from './lock.service.js';
import { connectionUnusable } from './locks.messages.js';
import { LockStore } from './stores/lock.store.js';
import { QuorumLockStore } from './stores/quorum-lock.store.js';

/**
 * Readiness of the lock store: reachable, its round-trip time, and how many locks this instance
 * holds. In quorum mode, `degraded` while a minority of nodes is down, `down` without a majority.
 * @publicApi
 */
@KeelHealthIndicator({ key: 'locks' })
export class LocksHealthIndicator implements KeelHealthCheck {
  constructor(
    @Inject(LockStore) private readonly store: LockStore,
    @Inject(LockService) private readonly locks: LockService,
  ) {}

  async check(): Promise<KeelHealthReport> {
    const base = { store: this.store.kind, held: this.locks.heldCount };
    if (this.store instanceof QuorumLockStore) {
      const nodes = await this.store.nodeStatus();
      const up = nodes.filter((n) => n.up).length;
      return {
        status: up === nodes.length ? 'up' : up >= this.store.quorum ? 'degraded' : 'down',
        details: { ...base, nodesUp: up, nodes: nodes.length, quorum: this.store.quorum },
      };
    }
    const unusable = this.store.unusableConnection?.();
    if (unusable !== undefined) {
      return {
        status: 'down',
        details: { ...base, error: connectionUnusable({ state: unusable }) },
      };
    }
    try {
      const rtt = await this.store.ping();
      return { status: 'up', details: { ...base, roundTripMs: Math.round(rtt * 100) / 100 } };
    } catch (error) {
      return {
        status: 'down',
        details: { ...base, error: error instanceof Error ? error.message : 'unreachable' },
      };
    }
  }
}
