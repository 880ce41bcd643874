import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import type { AuditChainHead, AuditCheckpoint } from '../audit-event.js';
import { AUDIT_SETTINGS } from '../audit.constants.js';
import { AuditError } from '../audit.errors.js';
import type { AuditSettings } from '../interfaces/audit-options.interface.js';
import { AuditStore } from '../stores/audit.store.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';
import { AuditVerifier, type AuditVerifyReport } from './audit-verifier.js';
import { CheckpointSigner } from './checkpoint-signer.js';

/**
 * Signed checkpoints and verification. With `checkpoints.key` set, every `intervalMs` and at
 * shutdown (after the writer drained) each chain that grew gets a checkpoint, stored beside the
 * events and, with `checkpoints.file`, appended to that file too (out of the database's reach).
 * @publicApi
 */
@Injectable()
export class AuditIntegrityService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelAudit');
  private readonly signer: CheckpointSigner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AuditCheckpoint[]> | undefined;

  constructor(
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(AuditCommitHub) private readonly hub: AuditCommitHub,
  ) {
    const { key, publicKey, keyId } = settings.checkpoints;
    if (key !== undefined || publicKey !== undefined) {
      this.signer = new CheckpointSigner(keyId, {
        ...(key !== undefined ? { privateKey: key } : {}),
        ...(publicKey !== undefined ? { publicKey } : {}),
      });
    }
  }

  onApplicationBootstrap(): void {
    if (
      this.signer === undefined ||
      this.settings.checkpoints.key === undefined ||
      this.timer !== undefined
    )
      return;
    this.timer = setInterval(
      () =>
        void this.checkpointNow('interval').catch((e: unknown) =>
          this.logger.warn(`checkpoint failed: ${String(e)}`),
        ),
      this.settings.checkpoints.intervalMs,
    );
    this.timer.unref();
    this.hub.beforeClose(async () => {
      await this.checkpointNow('shutdown');
    });
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Writes a checkpoint for every chain whose head moved since its last checkpoint.
   * @returns the checkpoints written (none without a signing key).
   */
  checkpointNow(reason: AuditCheckpoint['reason'] = 'interval'): Promise<AuditCheckpoint[]> {
    // One at a time: two overlapping runs would both extend the same previous checkpoint.
    const run = (this.running ?? Promise.resolve([])).then(() => this.writeCheckpoints(reason));
    this.running = run.catch(() => []);
    return run;
  }

  /** Verifies every chain (or one) against its events and signed checkpoints. */
  verify(options: { readonly chain?: string } = {}): Promise<AuditVerifyReport> {
    return new AuditVerifier(this.store, this.signer).verify(options);
  }

  /** True when checkpoints can be written (a signing key is configured). */
  get canSign(): boolean {
    return this.signer !== undefined && this.settings.checkpoints.key !== undefined;
  }

  /**
   * Writes a `purge-anchor` checkpoint for each chain about to lose its events up to
   * `last.seq`, signing the hash of that last event: after the purge, verification resumes at
   * the next seq and checks it continues from the signed hash. Chains already anchored that far
   * are skipped. Must run before the events are dropped.
   * @internal
   */
  anchorPurge(lasts: readonly AuditChainHead[]): Promise<AuditCheckpoint[]> {
    const run = (this.running ?? Promise.resolve([])).then(() => this.writeAnchors(lasts));
    this.running = run.catch(() => []);
    return run;
  }

  private async writeAnchors(lasts: readonly AuditChainHead[]): Promise<AuditCheckpoint[]> {
    const signer = this.requireSigner();
    const written: AuditCheckpoint[] = [];
    for (const last of lasts) {
      const existing = await this.store.checkpoints(last.chain);
      const anchored = Math.max(
        0,
        ...existing.filter((c) => c.reason === 'purge-anchor').map((c) => c.toSeq),
      );
      if (anchored >= last.seq) continue;
      written.push(
        await this.append(
          signer.sign({
            chain: last.chain,
            fromSeq: anchored + 1,
            toSeq: last.seq,
            count: last.seq - anchored,
            lastHash: last.hash,
            createdAt: new Date().toISOString(),
            reason: 'purge-anchor',
            previousSignature: existing.at(-1)?.signature ?? '',
          }),
        ),
      );
    }
    return written;
  }

  private async writeCheckpoints(reason: AuditCheckpoint['reason']): Promise<AuditCheckpoint[]> {
    if (!this.canSign) return [];
    const signer = this.requireSigner();
    const written: AuditCheckpoint[] = [];
    for (const head of await this.store.heads()) {
      const existing = await this.store.checkpoints(head.chain);
      // Ranges continue from the furthest checkpoint; a purge anchor may be newer but lower.
      const covered = Math.max(0, ...existing.map((c) => c.toSeq));
      if (covered >= head.seq) continue;
      written.push(
        await this.append(
          signer.sign({
            chain: head.chain,
            fromSeq: covered + 1,
            toSeq: head.seq,
            count: head.seq - covered,
            lastHash: head.hash,
            createdAt: new Date().toISOString(),
            reason,
            previousSignature: existing.at(-1)?.signature ?? '',
          }),
        ),
      );
    }
    return written;
  }

  private async append(checkpoint: AuditCheckpoint): Promise<AuditCheckpoint> {
    await this.store.appendCheckpoint(checkpoint);
    this.copyToFile(checkpoint);
    return checkpoint;
  }

  private requireSigner(): CheckpointSigner {
    if (this.signer === undefined || this.settings.checkpoints.key === undefined) {
      throw new AuditError(
        'KEEL_AUDIT_UNSUPPORTED',
        'writing a checkpoint needs audit.checkpoints.key (a signing key); none is configured',
      );
    }
    return this.signer;
  }

  private copyToFile(checkpoint: AuditCheckpoint): void {
    const file = this.settings.checkpoints.file;
    if (file === undefined) return;
    const fd = openSync(file, 'a');
    try {
      writeSync(fd, JSON.stringify(checkpoint) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
