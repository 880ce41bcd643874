import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditRecord,
  PreparedAuditEvent,
} from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { fileStoreLocked } from '../audit.messages.js';
import { linkBatch } from '../chain/chain-format.js';
import type {
  AppendOptions,
  AuditFilter,
  AuditPageRequest,
  AuditPartition,
  AuditStore,
} from './audit.store.js';
import { lockDirectory, unlockDirectory } from './directory-lock.js';
import { compileFilter, comparePosition, monthBounds, monthOf } from './filter.js';

const SEGMENT = /^events-(\d{4}-\d{2})\.ndjson$/;
const CHECKPOINTS = 'checkpoints.ndjson';

/** Options of the {@link FileAuditStore}. @publicApi */
export interface FileAuditStoreOptions {
  /** Directory of the store's files (created when missing). */
  readonly directory: string;
}

/**
 * The embedded default: append-only NDJSON files, one per month (`events-2026-12.ndjson`, so a
 * purge deletes a file as PostgreSQL drops a partition), loaded into memory at startup.
 *
 * Chosen over SQLite and PGlite for the embedded default because it needs no native compile
 * step (better-sqlite3 12 compiles from source here: 1 min 49 s; 13 crashes on Node 20), does
 * not rewrite the whole database to save (sql.js), and starts in milliseconds with the memory
 * its events take (PGlite: 4–4.5 s and 700–850 MB). It is for one process — development, the
 * demo, a single-instance service: an exclusive lock file stops a second process from opening
 * the same directory. Every batch is written and fsync'd before `append` resolves; a torn last
 * line (a crash mid-write) is cut off at the next start, never read as an event.
 * @publicApi
 */
export class FileAuditStore implements AuditStore {
  readonly kind = 'file';
  private readonly directory: string;
  /** Every event, in `(occurredAt, id)` order. */
  private ordered: AuditRecord[] = [];
  private readonly chains = new Map<string, AuditRecord[]>();
  private readonly ids = new Set<string>();
  private checkpointList: AuditCheckpoint[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private opened = false;

  constructor(options: FileAuditStoreOptions) {
    this.directory = resolve(options.directory);
  }

  async init(): Promise<void> {
    if (this.opened) return;
    await mkdir(this.directory, { recursive: true });
    await this.lock();
    try {
      await this.load();
    } catch (error) {
      // Unreadable files must not leave the directory locked for the next attempt.
      await unlockDirectory(this.directory);
      throw error;
    }
    this.opened = true;
  }

  private async load(): Promise<void> {
    const names = (await readdir(this.directory)).filter((n) => SEGMENT.test(n)).sort();
    for (const name of names)
      for (const record of await this.readLines<AuditRecord>(name)) this.index(record);
    this.ordered.sort(comparePosition);
    for (const list of this.chains.values()) list.sort((a, b) => a.seq - b.seq);
    this.checkpointList = await this.readLines<AuditCheckpoint>(CHECKPOINTS);
  }

  append(
    events: readonly PreparedAuditEvent[],
    options: AppendOptions = {},
  ): Promise<AuditRecord[]> {
    return this.serialized(() => {
      const fresh = options.retry ? events.filter((e) => !this.ids.has(e.id)) : events;
      const linked = this.link(fresh);
      const byMonth = new Map<string, string>();
      for (const record of linked) {
        const month = monthOf(record.occurredAt);
        byMonth.set(month, (byMonth.get(month) ?? '') + JSON.stringify(record) + '\n');
      }
      for (const [month, text] of byMonth) this.writeDurably(`events-${month}.ndjson`, text);
      for (const record of linked) this.index(record, true);
      return linked;
    });
  }

  async query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditRecord[]> {
    const matches = compileFilter(filter);
    let start = 0;
    if (page.after !== undefined) start = this.firstAfter(page.after);
    const out: AuditRecord[] = [];
    for (let i = start; i < this.ordered.length && out.length < page.limit; i++) {
      const record = this.ordered[i]!;
      if (matches(record)) out.push(record);
    }
    return out;
  }

  async readChain(chain: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const list = this.chains.get(chain) ?? [];
    return list.filter((r) => r.seq >= fromSeq).slice(0, limit);
  }

  async heads(): Promise<AuditChainHead[]> {
    const chains = new Set([...this.chains.keys(), ...this.checkpointList.map((c) => c.chain)]);
    return [...chains]
      .map((chain) => this.headOf(chain))
      .filter((head): head is AuditChainHead => head !== undefined)
      .sort((a, b) => (a.chain < b.chain ? -1 : 1));
  }

  /**
   * A chain's last event; when retention purged every one of them, the newest checkpoint — a
   * purge anchor holds the seq and hash of the last purged event — so the chain goes on from
   * there instead of starting again at genesis (PostgreSQL keeps a heads table for this).
   */
  private headOf(chain: string): AuditChainHead | undefined {
    const last = this.chains.get(chain)?.at(-1);
    if (last !== undefined) return { chain, seq: last.seq, hash: last.hash };
    let newest: AuditCheckpoint | undefined;
    for (const c of this.checkpointList) {
      if (c.chain === chain && (newest === undefined || c.toSeq > newest.toSeq)) newest = c;
    }
    return newest === undefined ? undefined : { chain, seq: newest.toSeq, hash: newest.lastHash };
  }

  appendCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    return this.serialized(() => {
      this.writeDurably(CHECKPOINTS, JSON.stringify(checkpoint) + '\n');
      this.checkpointList.push(checkpoint);
    });
  }

  async checkpoints(chain?: string): Promise<AuditCheckpoint[]> {
    return this.checkpointList.filter((c) => chain === undefined || c.chain === chain);
  }

  async partitions(): Promise<AuditPartition[]> {
    const months = new Set(this.ordered.map((r) => monthOf(r.occurredAt)));
    return [...months]
      .sort()
      .map((month) => ({ name: `events-${month}.ndjson`, ...monthBounds(month) }));
  }

  async countInPartition(partition: AuditPartition, filter: AuditFilter): Promise<number> {
    const matches = compileFilter({ ...filter, from: partition.from, to: partition.to });
    return this.ordered.filter(matches).length;
  }

  async lastInPartition(partition: AuditPartition): Promise<AuditChainHead[]> {
    const inside = compileFilter({ from: partition.from, to: partition.to });
    const last = new Map<string, AuditChainHead>();
    for (const record of this.ordered) {
      if (!inside(record)) continue;
      const known = last.get(record.chain);
      if (known === undefined || record.seq > known.seq)
        last.set(record.chain, { chain: record.chain, seq: record.seq, hash: record.hash });
    }
    return [...last.values()].sort((a, b) => (a.chain < b.chain ? -1 : 1));
  }

  dropPartition(partition: AuditPartition): Promise<void> {
    return this.serialized(async () => {
      await rm(join(this.directory, partition.name), { force: true });
      const from = partition.from.toISOString();
      const to = partition.to.toISOString();
      const inside = (r: AuditRecord) => r.occurredAt >= from && r.occurredAt < to;
      this.ordered = this.ordered.filter((r) => !inside(r));
      for (const [chain, list] of this.chains)
        this.chains.set(
          chain,
          list.filter((r) => !inside(r)),
        );
    });
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    await this.tail.catch(() => undefined);
    await unlockDirectory(this.directory);
  }

  /** Runs store mutations one at a time, in call order (one process owns the directory). */
  private serialized<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private link(events: readonly PreparedAuditEvent[]): AuditRecord[] {
    return linkBatch(events, (chain) => this.headOf(chain));
  }

  private index(record: AuditRecord, live = false): void {
    this.ids.add(record.id);
    const list = this.chains.get(record.chain) ?? [];
    list.push(record);
    this.chains.set(record.chain, list);
    if (!live) {
      this.ordered.push(record);
      return;
    }
    // Events arrive mostly in time order: insert from the end.
    let i = this.ordered.length;
    while (i > 0 && comparePosition(this.ordered[i - 1]!, record) > 0) i--;
    this.ordered.splice(i, 0, record);
  }

  private firstAfter(position: { occurredAt: string; id: string }): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePosition(this.ordered[mid]!, position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends and fsyncs before returning: a resolved append survives a crash. */
  private writeDurably(name: string, text: string): void {
    const fd = openSync(join(this.directory, name), 'a');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads one NDJSON file; a torn last line (a crash mid-write) is cut off the file. */
  private async readLines<T>(name: string): Promise<T[]> {
    const path = join(this.directory, name);
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) await truncate(path, Buffer.byteLength(text.slice(0, complete)));
    return text
      .slice(0, complete)
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as T);
  }

  private lock(): Promise<void> {
    return lockDirectory(
      this.directory,
      (pid) =>
        new AuditError(
          'KEEL_AUDIT_UNAVAILABLE',
          fileStoreLocked({ directory: this.directory, pid }),
        ),
    );
  }
}
