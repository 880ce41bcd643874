import type { AuditCheckpoint, AuditRecord } from '../audit-event.js';
import type { AuditStore } from '../stores/audit.store.js';
import { eventHash, GENESIS_HASH } from './chain-format.js';
import type { CheckpointSigner } from './checkpoint-signer.js';

/** Why a chain position is bad. @publicApi */
export type AuditBreakReason =
  | 'hash-mismatch'
  | 'prev-mismatch'
  | 'missing'
  | 'duplicate-seq'
  | 'unanchored-start'
  | 'truncated'
  | 'head-mismatch'
  | 'bad-signature'
  | 'checkpoint-chain-broken';

/** The first bad position of a chain. @publicApi */
export interface AuditBreak {
  readonly seq: number;
  readonly id?: string;
  readonly reason: AuditBreakReason;
  readonly detail: string;
}

/** One chain's result. @publicApi */
export interface AuditChainReport {
  readonly chain: string;
  /** Events checked. */
  readonly checked: number;
  readonly checkpoints: number;
  /** The first break found, if any. */
  readonly firstBad?: AuditBreak;
}

/** What {@link AuditVerifier.verify} found. @publicApi */
export interface AuditVerifyReport {
  readonly ok: boolean;
  readonly chains: readonly AuditChainReport[];
}

const PAGE = 5_000;

/**
 * Walks chains and checkpoints and reports the first broken link of each chain: an updated
 * event (its hash no longer matches), a deleted one (a seq missing, the next prevHash unmatched),
 * an inserted one (a seq twice, or a prevHash that does not match), a truncated tail (a signed
 * checkpoint names a seq the chain no longer reaches, or another hash for it), and checkpoints
 * that are forged, altered or missing from their own chain. Reads pages of 5 000 events, so it
 * runs in constant memory.
 * @publicApi
 */
export class AuditVerifier {
  constructor(
    private readonly store: AuditStore,
    private readonly signer?: CheckpointSigner,
  ) {}

  /** Verifies one chain, or every chain the store has. */
  async verify(options: { readonly chain?: string } = {}): Promise<AuditVerifyReport> {
    const names =
      options.chain !== undefined
        ? [options.chain]
        : [
            ...new Set([
              ...(await this.store.heads()).map((h) => h.chain),
              ...(await this.store.checkpoints()).map((c) => c.chain),
            ]),
          ].sort();
    const chains: AuditChainReport[] = [];
    for (const chain of names) chains.push(await this.verifyChain(chain));
    return { ok: chains.every((c) => c.firstBad === undefined), chains };
  }

  private async verifyChain(chain: string): Promise<AuditChainReport> {
    const checkpoints = await this.store.checkpoints(chain);
    const report = (checked: number, firstBad?: AuditBreak): AuditChainReport => ({
      chain,
      checked,
      checkpoints: checkpoints.length,
      ...(firstBad !== undefined ? { firstBad } : {}),
    });
    const signatureBreak = this.checkSignatures(checkpoints);
    const walk = await this.walk(chain, checkpoints);
    const firstBad = earliest([
      walk.firstBad,
      signatureBreak,
      // A walk that stopped early says nothing about the tail.
      walk.firstBad === undefined
        ? await this.tailBreak(chain, walk.reached, checkpoints)
        : undefined,
    ]);
    return report(walk.checked, firstBad);
  }

  private async walk(chain: string, checkpoints: readonly AuditCheckpoint[]) {
    const byToSeq = new Map(
      checkpoints.filter((c) => c.reason !== 'purge-anchor').map((c) => [c.toSeq, c]),
    );
    // After a purge the chain resumes after the newest anchor: events up to it were dropped
    // (the few dated after the purged month but chained before its last event stay, unlinked).
    const anchor = newestAnchor(checkpoints);
    const start = (anchor?.toSeq ?? 0) + 1;
    let expectedSeq = start;
    let prevHash = anchor?.lastHash ?? GENESIS_HASH;
    let checked = 0;
    let last: AuditRecord | undefined;
    for (let from = start; ;) {
      const page = await this.store.readChain(chain, from, PAGE);
      for (const row of page) {
        checked += 1;
        const bad = this.checkRow(row, {
          expectedSeq,
          prevHash,
          first: last === undefined,
          anchored: anchor !== undefined,
        });
        if (bad !== undefined)
          return { checked, last, reached: last?.seq ?? start - 1, firstBad: bad };
        const checkpoint = byToSeq.get(row.seq);
        if (checkpoint !== undefined && checkpoint.lastHash !== row.hash) {
          return {
            checked,
            last,
            reached: row.seq,
            firstBad: brk(row, 'hash-mismatch', `checkpoint to seq ${row.seq} signed another hash`),
          };
        }
        expectedSeq = row.seq + 1;
        prevHash = row.hash;
        last = row;
      }
      if (page.length < PAGE) return { checked, last, reached: last?.seq ?? start - 1 };
      from = last!.seq + 1;
    }
  }

  private checkRow(
    row: AuditRecord,
    at: { expectedSeq: number; prevHash: string; first: boolean; anchored: boolean },
  ): AuditBreak | undefined {
    if (at.first && row.seq !== at.expectedSeq) {
      if (!at.anchored) {
        return brk(
          row,
          'unanchored-start',
          `the chain starts at seq ${row.seq} and no purge checkpoint anchors seq ${row.seq - 1}`,
        );
      }
      return {
        seq: at.expectedSeq,
        reason: 'missing',
        detail: `seq ${at.expectedSeq}, the first after the purge anchor, is missing (next found: ${row.seq})`,
      };
    }
    if (at.first && row.prevHash !== at.prevHash) {
      return brk(
        row,
        'prev-mismatch',
        at.anchored
          ? `seq ${row.seq} does not continue from the hash its purge anchor signed`
          : 'seq 1 does not start from the genesis hash',
      );
    }
    if (!at.first) {
      if (row.seq === at.expectedSeq - 1)
        return brk(row, 'duplicate-seq', `seq ${row.seq} appears twice`);
      if (row.seq !== at.expectedSeq)
        return {
          seq: at.expectedSeq,
          reason: 'missing',
          detail: `seq ${at.expectedSeq} is missing (next found: ${row.seq})`,
        };
      if (row.prevHash !== at.prevHash)
        return brk(row, 'prev-mismatch', `prevHash does not match the hash of seq ${row.seq - 1}`);
    }
    if (eventHash(row, row.prevHash) !== row.hash)
      return brk(row, 'hash-mismatch', 'the event no longer matches its hash (altered)');
    return undefined;
  }

  private async tailBreak(
    chain: string,
    reached: number,
    checkpoints: readonly AuditCheckpoint[],
  ): Promise<AuditBreak | undefined> {
    const beyond = checkpoints.find((c) => c.toSeq > reached);
    if (beyond !== undefined) {
      return {
        seq: reached + 1,
        reason: 'truncated',
        detail: `a checkpoint covers seq ${beyond.toSeq}, the chain ends at ${reached}`,
      };
    }
    const head = (await this.store.heads()).find((h) => h.chain === chain);
    if (head !== undefined && head.seq !== reached) {
      return {
        seq: Math.min(head.seq, reached) + 1,
        reason: 'head-mismatch',
        detail: `the head says seq ${head.seq}, the chain ends at ${reached}`,
      };
    }
    return undefined;
  }

  private checkSignatures(checkpoints: readonly AuditCheckpoint[]): AuditBreak | undefined {
    let previous = '';
    for (const checkpoint of checkpoints) {
      if (this.signer !== undefined && !this.signer.verify(checkpoint)) {
        return {
          seq: checkpoint.toSeq,
          reason: 'bad-signature',
          detail: `the checkpoint to seq ${checkpoint.toSeq} is not signed by key ${this.signer.keyId}`,
        };
      }
      if (checkpoint.previousSignature !== previous) {
        return {
          seq: checkpoint.toSeq,
          reason: 'checkpoint-chain-broken',
          detail: `a checkpoint before seq ${checkpoint.toSeq} is missing`,
        };
      }
      previous = checkpoint.signature;
    }
    return undefined;
  }
}

/** The purge anchor reaching furthest: the chain is verified from the seq after it. */
function newestAnchor(checkpoints: readonly AuditCheckpoint[]): AuditCheckpoint | undefined {
  let newest: AuditCheckpoint | undefined;
  for (const c of checkpoints)
    if (c.reason === 'purge-anchor' && (newest === undefined || c.toSeq > newest.toSeq)) newest = c;
  return newest;
}

function brk(row: AuditRecord, reason: AuditBreakReason, detail: string): AuditBreak {
  return { seq: row.seq, id: row.id, reason, detail };
}

function earliest(breaks: readonly (AuditBreak | undefined)[]): AuditBreak | undefined {
  let first: AuditBreak | undefined;
  for (const b of breaks)
    if (b !== undefined && (first === undefined || b.seq < first.seq)) first = b;
  return first;
}
