import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK = '.lock';

/**
 * Directories locked by this process: the pid in a lock file cannot tell two owners in one
 * process apart, and two in-memory views of one directory would fork its chains (file store)
 * or delete each other's segments (spool).
 */
const LOCKED = new Set<string>();

/**
 * Takes the directory's lock file (`.lock`, holding the pid), or throws what `locked(pid)`
 * returns when a live process — this one included — holds it. A stale lock of a dead process
 * is taken over. `directory` must exist and be absolute.
 * @internal
 */
export async function lockDirectory(
  directory: string,
  locked: (holderPid: number) => Error,
): Promise<void> {
  if (LOCKED.has(directory)) throw locked(process.pid);
  const path = join(directory, LOCK);
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
    LOCKED.add(directory);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(await readFile(path, 'utf8').catch(() => '0'));
  if (holder !== process.pid && isAlive(holder)) throw locked(holder);
  await writeFile(path, String(process.pid));
  LOCKED.add(directory);
}

/** Releases a lock taken by {@link lockDirectory}. @internal */
export async function unlockDirectory(directory: string): Promise<void> {
  if (!LOCKED.delete(directory)) return;
  await rm(join(directory, LOCK), { force: true });
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
