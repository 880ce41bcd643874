import { afterEach, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreparedAuditEvent } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { AuditSpool } from './audit-spool.js';
import { preparedEvent } from '../../test/events.js';

const event = (n: number): PreparedAuditEvent => preparedEvent({ resourceId: `ev-${n}` });

describe('AuditSpool', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const d of directories.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const directory = () => {
    const d = mkdtempSync(join(tmpdir(), 'keel-spool-unit-'));
    directories.push(d);
    return d;
  };
  const segments = (d: string) => readdirSync(d).filter((n) => n.startsWith('spool-'));

  it('replays what was not committed, in order; a torn last line is not an event', async () => {
    const d = directory();
    const first = new AuditSpool(d);
    expect(await first.open()).toEqual([]);
    await Promise.all([0, 1, 2, 3, 4].map((n) => first.append(event(n))));
    await first.committed(2);
    await first.close(); // not all committed: the segment stays
    const [name] = segments(d);
    appendFileSync(join(d, name!), '{"id":"torn'); // a crash mid-write
    const second = new AuditSpool(d);
    const replay = await second.open();
    // Committed events are replayed too (the store skips their ids): only whole segments go.
    expect(replay.map((e) => e.resourceId)).toEqual(['ev-0', 'ev-1', 'ev-2', 'ev-3', 'ev-4']);
    await second.append(event(5));
    await second.committed(6);
    await second.close();
    expect(segments(d)).toEqual([]);
  });

  it('deletes a segment once all of its events are committed and a newer one is being written', async () => {
    const d = directory();
    const first = new AuditSpool(d);
    await first.open();
    await first.append(event(0));
    await first.close();
    const second = new AuditSpool(d);
    expect(await second.open()).toHaveLength(1);
    await second.append(event(1)); // never appended to the old segment: a new one
    expect(segments(d)).toHaveLength(2);
    await second.committed(1);
    expect(segments(d)).toHaveLength(1);
    await second.committed(1);
    await second.close();
    expect(segments(d)).toEqual([]);
  });

  it('one process per directory', async () => {
    const d = directory();
    const spool = new AuditSpool(d);
    await spool.open();
    await expect(new AuditSpool(d).open()).rejects.toThrow(AuditError);
    await spool.close();
    const again = new AuditSpool(d);
    await expect(again.open()).resolves.toEqual([]);
    await again.close();
  });
});
