import { open, mkdir, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { PreparedAuditEvent } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import {
  spoolLineUnreadable,
  spoolLocked,
  spoolReplaying,
  spoolWriteFailed,
} from '../audit.messages.js';
import { lockDirectory, unlockDirectory } from '../stores/directory-lock.js';

const SEGMENT = /^spool-(\d{12})\.ndjson$/;
/** Events per segment file: a committed segment is deleted whole. */
const SEGMENT_EVENTS = 10_000;

interface Segment {
  readonly path: string;
  /** Events written (or queued) into it. */
  count: number;
  /** Of those, how many the store has committed. */
  committed: number;
  handle: FileHandle | undefined;
  /** Only this process's segments take new lines, and only until a write to them fails. */
  appendable: boolean;
  /** Whether its directory entry has been fsync'd (a new file is durable only then). */
  entrySynced: boolean;
}

interface QueuedLine {
  readonly segment: Segment;
  readonly text: string;
  readonly settle: (error?: Error) => void;
}

/**
 * The async writer's durable spool (`writer.spoolDirectory`): an event is appended to a local
 * NDJSON segment and `fdatasync`ed — many events per sync, group commit — before `record()`
 * resolves, so an acknowledged event survives a crash of the process. The writer reports each
 * committed batch (a FIFO prefix of the spool, since events enter the buffer in spool order);
 * a segment whose events are all committed is deleted. At startup the segments left by a crash
 * are read back and written again; the store skips ids it already has, so nothing doubles.
 * @internal
 */
export class AuditSpool {
  private readonly logger = new Logger('KeelAudit');
  private readonly directory: string;
  private readonly segments: Segment[] = [];
  private queue: QueuedLine[] = [];
  private writing: Promise<void> | undefined;
  private nextNumber = 0;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  /** Locks the directory and returns the events a previous process left unconfirmed. */
  async open(): Promise<PreparedAuditEvent[]> {
    await mkdir(this.directory, { recursive: true });
    await lockDirectory(
      this.directory,
      (pid) =>
        new AuditError('KEEL_AUDIT_UNAVAILABLE', spoolLocked({ directory: this.directory, pid })),
    );
    const names = (await readdir(this.directory)).filter((n) => SEGMENT.test(n)).sort();
    const replay: PreparedAuditEvent[] = [];
    for (const name of names) {
      const events = await this.readSegment(name);
      replay.push(...events);
      this.segments.push({
        path: join(this.directory, name),
        count: events.length,
        committed: 0,
        handle: undefined,
        appendable: false,
        entrySynced: true,
      });
      this.nextNumber = Number(SEGMENT.exec(name)![1]) + 1;
    }
    if (replay.length > 0) {
      this.logger.warn(spoolReplaying({ count: replay.length, directory: this.directory }));
    }
    return replay;
  }

  /** Resolves once the event is on disk; rejects (nothing acknowledged) when the write fails. */
  append(event: PreparedAuditEvent): Promise<void> {
    const segment = this.activeSegment();
    segment.count++;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => (error === undefined ? resolve() : reject(error));
      this.queue.push({ segment, text: JSON.stringify(event) + '\n', settle });
      this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
    });
  }

  /** The store committed the next `count` spooled events (in spool order). */
  async committed(count: number): Promise<void> {
    let left = count;
    while (left > 0 && this.segments.length > 0) {
      const head = this.segments[0]!;
      const take = Math.min(left, head.count - head.committed);
      head.committed += take;
      left -= take;
      const active = head === this.segments.at(-1);
      if (head.committed < head.count || active) break;
      this.segments.shift();
      await this.discard(head);
    }
  }

  /** Resolves once every queued event is on disk (or failed). */
  async flushed(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  /** Waits for queued writes; deletes the segments when every event is committed. */
  async close(): Promise<void> {
    await this.flushed();
    const done = this.segments.every((s) => s.committed === s.count);
    for (const segment of this.segments.splice(0)) {
      if (done) await this.discard(segment);
      else await segment.handle?.close();
    }
    await unlockDirectory(this.directory);
  }

  private activeSegment(): Segment {
    const last = this.segments.at(-1);
    // A segment left by the previous process is never appended to: its tail may be torn.
    if (last !== undefined && last.appendable && last.count < SEGMENT_EVENTS) return last;
    const name = `spool-${String(this.nextNumber++).padStart(12, '0')}.ndjson`;
    const segment: Segment = {
      path: join(this.directory, name),
      count: 0,
      committed: 0,
      handle: undefined,
      appendable: true,
      entrySynced: false,
    };
    this.segments.push(segment);
    return segment;
  }

  /** One write and one sync per segment per round, for every line queued meanwhile. */
  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const round = this.queue;
      this.queue = [];
      const bySegment = new Map<Segment, QueuedLine[]>();
      for (const line of round) {
        const lines = bySegment.get(line.segment);
        if (lines === undefined) bySegment.set(line.segment, [line]);
        else lines.push(line);
      }
      for (const [segment, lines] of bySegment) {
        try {
          await this.writeLines(segment, lines);
          for (const line of lines) line.settle();
        } catch (error) {
          const failure = new AuditError(
            'KEEL_AUDIT_UNAVAILABLE',
            spoolWriteFailed({
              directory: this.directory,
              error: error instanceof Error ? error.message : String(error),
            }),
          );
          // Not acknowledged, so not replayed either: the segment's count must not include them.
          segment.count -= lines.length;
          // A failed write may have left a partial line: later events go to a new segment.
          segment.appendable = false;
          for (const line of lines) line.settle(failure);
        }
      }
    }
  }

  private async writeLines(segment: Segment, lines: readonly QueuedLine[]): Promise<void> {
    segment.handle ??= await open(segment.path, 'a');
    await segment.handle.write(lines.map((l) => l.text).join(''));
    await segment.handle.datasync();
    if (!segment.entrySynced) {
      const directory = await open(this.directory, 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
      segment.entrySynced = true;
    }
  }

  private async discard(segment: Segment): Promise<void> {
    await segment.handle?.close();
    segment.handle = undefined;
    await rm(segment.path, { force: true });
  }

  /** The events of a segment; a torn last line (a crash mid-write) is not an event. */
  private async readSegment(name: string): Promise<PreparedAuditEvent[]> {
    const text = await readFile(join(this.directory, name), 'utf8');
    const lines = text.split('\n');
    const events: PreparedAuditEvent[] = [];
    lines.forEach((line, index) => {
      if (line.length === 0) return;
      try {
        events.push(JSON.parse(line) as PreparedAuditEvent);
      } catch {
        // The last line without its newline is a torn write: never acknowledged, so not lost.
        if (index !== lines.length - 1) {
          this.logger.error(spoolLineUnreadable({ file: name, line: index + 1 }));
        }
      }
    });
    return events;
  }
}
