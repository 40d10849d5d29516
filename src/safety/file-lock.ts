/**
 * A cross-process lock file (`O_CREAT|O_EXCL`), so several server processes on one machine (one
 * per IDE window) can append to the same audit log without forking its chain, and spend a
 * confirmation only once. A lock whose owner
 * process is gone, or that is older than `staleMs`, is taken over.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** A lock held longer than this is considered abandoned (default 30 s; an append takes ms). */
  staleMs?: number;
}

/** Runs `work` while holding `lockPath`. */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  await acquire(lockPath, options.timeoutMs ?? 10_000, options.staleMs ?? 30_000);
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

async function acquire(lockPath: string, timeoutMs: number, staleMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const before = await stat(lockPath).catch(() => undefined);
    const owner = await readOwner(lockPath);
    const after = await stat(lockPath).catch(() => undefined);
    // Released or replaced while we looked: just try again.
    if (!before || !after || owner === 'gone' || before.ino !== after.ino || before.mtimeMs !== after.mtimeMs) continue;
    if (isAbandoned(owner, after.mtimeMs, staleMs)) {
      // Remove only the very file judged abandoned, not a lock taken since.
      const now = await stat(lockPath).catch(() => undefined);
      if (now && now.ino === after.ino && now.mtimeMs === after.mtimeMs) await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the lock file ${lockPath} is held by process ${owner.pid ?? 'unknown'}${owner.host ? ` on ${owner.host}` : ''}; if no such process is running, delete the lock file`,
      );
    }
    await sleep(Math.min(5 + attempt * 2, 50));
  }
}

interface LockOwner {
  pid?: number;
  host?: string;
}

async function readOwner(lockPath: string): Promise<LockOwner | 'gone'> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as LockOwner) : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return {}; // being written right now, or garbage: only its age can show it was abandoned
  }
}

function isAbandoned(owner: LockOwner, mtimeMs: number, staleMs: number): boolean {
  if (Date.now() - mtimeMs > staleMs) return true;
  if (owner.host !== hostname() || typeof owner.pid !== 'number') return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
